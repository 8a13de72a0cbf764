"""The simulator from another language: Python's standard library only, over plain HTTP.

Starts the built binary (`clerk-rbac simulator --port 0`; the path comes from CLERK_RBAC_BIN,
default target/debug/clerk-rbac), resets it between tests, seeds members, injects faults,
calls Clerk's endpoints and reads the request log through the admin API under /_simulator/.

Run: python3 -m unittest discover -s tests/python -v
"""

import json
import os
import signal
import subprocess
import unittest
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("CLERK_RBAC_BIN", REPO / "target" / "debug" / "clerk-rbac"))
# Any sk_test_ key works; this one must never show in the request log.
SECRET_KEY = "sk_test_pythonSuite0123456789abcdef"


class Simulator:
    """The process, and plain HTTP calls to it."""

    def __init__(self):
        self.process = subprocess.Popen(
            [str(BINARY), "simulator", "--port", "0", "--no-rate-limit",
             "--record-exchanges", "--migration-ms", "60000"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The first line is the base URL, to use as CLERK_API_URL.
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http://127.0.0.1:"):
            self.process.kill()
            raise RuntimeError(f"unexpected first line: {self.base_url!r}")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def call(self, method, path, body=None, key=SECRET_KEY, headers=None):
        """Returns (status, decoded JSON body)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if key is not None:
            request.add_header("Authorization", f"Bearer {key}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def api(self, method, path, body=None):
        return self.call(method, "/v1" + path, body)

    def admin(self, method, path, body=None, **kwargs):
        status, answer = self.call(method, "/_simulator" + path, body, key=None, **kwargs)
        if status != 200:
            raise AssertionError(f"{method} /_simulator{path}: {status} {answer}")
        return answer


class SimulatorTest(unittest.TestCase):
    sim = None

    @classmethod
    def setUpClass(cls):
        if not BINARY.exists():
            raise RuntimeError(
                f"{BINARY} does not exist: build it with `cargo build -p clerk-rbac-cli`, "
                "or point CLERK_RBAC_BIN at the binary")
        cls.sim = Simulator()

    @classmethod
    def tearDownClass(cls):
        if cls.sim is not None:
            code = cls.sim.stop()
            assert code == 0, f"the simulator exited with {code} on SIGTERM"

    def setUp(self):
        self.assertEqual(self.sim.admin("POST", "/reset"), {"reset": "instance"})

    def create_role(self, key, in_initial_set=False):
        status, role = self.sim.api("POST", "/organization_roles", {
            "name": key.title(), "key": key, "include_in_initial_role_set": in_initial_set,
        })
        self.assertEqual(status, 200, role)
        return role

    def test_a_fresh_instance_holds_what_clerk_seeds_and_reset_brings_it_back(self):
        status, roles = self.sim.api("GET", "/organization_roles")
        self.assertEqual(status, 200)
        self.assertEqual(sorted(r["key"] for r in roles["data"]), ["org:admin", "org:member"])
        before = self.sim.admin("GET", "/snapshot")
        self.create_role("org:auditor")
        self.assertEqual(self.sim.api("GET", "/organization_roles")[1]["total_count"], 3)
        self.sim.admin("POST", "/reset")
        after = self.sim.admin("GET", "/snapshot")
        # As the process started: the same objects with the same IDs (timestamps from now).
        ids = lambda snapshot: [(r["id"], r["key"]) for r in snapshot["roles"]]
        self.assertEqual(ids(after), ids(before))

    def test_clerks_rules_hold(self):
        status, error = self.sim.api("POST", "/organization_permissions", {
            "name": "Sneaky", "key": "org:sys_profile:steal",
        })
        self.assertEqual((status, error["errors"][0]["code"]), (422, "form_param_format_invalid"))
        status, error = self.sim.call("GET", "/v1/role_sets", key="not-a-key")
        self.assertEqual((status, error["errors"][0]["code"]), (401, "clerk_key_invalid"))

    def test_seeded_members_keep_a_role_from_being_deleted(self):
        role = self.create_role("org:auditor", in_initial_set=True)
        seeded = {"role_set": "role_set:default", "role": "org:auditor", "count": 3}
        self.assertEqual(self.sim.admin("PUT", "/members", seeded), seeded)
        status, role_set = self.sim.api("GET", "/role_sets/role_set:default")
        counts = {r["key"]: r["members_count"] for r in role_set["roles"]}
        self.assertEqual(counts["org:auditor"], 3)
        status, error = self.sim.api("DELETE", "/organization_roles/" + role["id"])
        self.assertEqual((status, error["errors"][0]["code"]), (422, "organization_role_in_use"))
        self.sim.admin("PUT", "/members", dict(seeded, count=0))
        status, deleted = self.sim.api("DELETE", "/organization_roles/" + role["id"])
        self.assertEqual((status, deleted["deleted"]), (200, True))

    def test_an_injected_fault_hits_the_next_matching_request_only(self):
        armed = self.sim.admin("POST", "/faults", {
            "method": "GET", "path": "/role_sets", "status": 503, "retry_after_s": 1,
        })
        self.assertEqual(armed, {"faults": 1})
        self.assertEqual(self.sim.api("GET", "/organization_roles")[0], 200)  # another path
        status, error = self.sim.api("GET", "/role_sets")
        self.assertEqual((status, error["errors"][0]["code"]), (503, "maintenance_mode"))
        self.assertEqual(self.sim.api("GET", "/role_sets")[0], 200)

    def test_a_dropped_connection_does_nothing(self):
        self.sim.admin("POST", "/faults", {"method": "POST", "action": "drop"})
        with self.assertRaises((urllib.error.URLError, ConnectionError)):
            self.create_role("org:never")
        keys = [r["key"] for r in self.sim.admin("GET", "/snapshot")["roles"]]
        self.assertNotIn("org:never", keys)

    def test_the_request_log_is_filterable_and_shows_no_secret_key(self):
        self.create_role("org:auditor")
        self.sim.api("POST", "/organization_roles", {"name": "Bad", "key": "bad key"})
        self.sim.api("GET", "/organization_roles")
        log = self.sim.admin("GET", "/requests")
        self.assertEqual(log["total_count"], 3)
        self.assertNotIn(SECRET_KEY, json.dumps(log))
        refused = self.sim.admin("GET", "/requests?method=POST&status=422")
        self.assertEqual(refused["total_count"], 1)
        entry = refused["data"][0]
        self.assertEqual((entry["path"], entry["answered"]), ("/organization_roles", True))
        self.assertIn("bad key", entry["request_body"])

    def test_settings_and_migrations(self):
        settings = self.sim.admin("PATCH", "/settings", {"custom_roles": False})
        self.assertFalse(settings["custom_roles"])
        status, error = self.sim.api("POST", "/organization_roles", {"name": "A", "key": "org:a"})
        self.assertEqual((status, error["errors"][0]["code"]),
                         (402, "unsupported_subscription_plan_features"))
        self.sim.admin("PATCH", "/settings", {"custom_roles": True})
        self.create_role("org:owner")
        self.assertEqual(self.sim.admin("POST", "/migrations/finish"), {"finished": 0})

    def test_the_admin_api_describes_itself(self):
        document = self.sim.admin("GET", "/openapi.json")
        self.assertEqual(document["openapi"], "3.1.0")
        self.assertIn("/_simulator/faults", document["paths"])


if __name__ == "__main__":
    unittest.main()
