#!/usr/bin/env bash
# What a user pays to build clerk-rbac as a plain dependency (default features), now and at an
# earlier revision: a minimal program that depends on the crate by path, built from nothing with
# its own target directory, the two alternating. See docs/benchmarks.md ("5. A user's build").
#
#   benches/user_build.sh [earlier revision, default d169c33] [runs, default 2]
#
# Offline, same toolchain, each program's lock file taken from its revision of the crate. Run
# from the repository root; takes several minutes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
before=${1:-d169c33}
runs=${2:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/clerk-rbac-user-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The crate's sources at a revision (HEAD: the committed tree), and a program that uses it.
prepare() {
    local name=$1 revision=$2
    mkdir -p "$work/$name/crate" "$work/$name/user/src"
    git archive "$revision" | tar -x -C "$work/$name/crate"
    cp "$work/$name/crate/Cargo.lock" "$work/$name/user/Cargo.lock"
    cat > "$work/$name/user/Cargo.toml" <<TOML
[package]
name = "user"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
clerk-rbac = { path = "../crate" }
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }

[workspace]
TOML
    cat > "$work/$name/user/src/main.rs" <<'RUST'
#[tokio::main]
async fn main() {
    let clerk = clerk_rbac::Clerk::new("sk_test_x").expect("a client");
    if let Ok(page) = clerk.organization_roles().list().send().await {
        println!("{}", page.total_count);
    }
}
RUST
}
prepare before "$before"
prepare after HEAD

build() {
    local name=$1
    local target="$work/$name/target"
    rm -rf "$target"
    local start=$EPOCHREALTIME
    local crates
    crates=$(cd "$work/$name/user" && CARGO_TARGET_DIR="$target" cargo build --offline 2>&1 \
        | grep -c '^ *Compiling')
    local end=$EPOCHREALTIME
    awk -v a="$start" -v b="$end" -v n="$name" -v c="$crates" \
        'BEGIN { printf "%-6s clean build %6.1f s  (%d crates)\n", n, b - a, c }'
}

echo "before = $before ($(git log -1 --format=%s "$before")), after = HEAD ($(git log -1 --format=%h HEAD))"
for ((run = 1; run <= runs; run++)); do
    echo "run $run"
    if ((run % 2)); then build before; build after; else build after; build before; fi
done
