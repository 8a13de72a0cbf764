#!/usr/bin/env bash
# What a user pays to build clerk-rbac, at two revisions side by side; see docs/benchmarks.md
# ("5. A plain dependent's build").
#
#   benches/user_build.sh [dependent|install] BEFORE [AFTER] [RUNS]
#
# BEFORE and AFTER are git revisions; AFTER defaults to "." (the working tree, uncommitted changes
# included). RUNS (default 2) rounds alternate which revision builds first: A B, B A, ...
#
# dependent: a minimal program that depends on the crate by path with default features (and
#     tokio), `cargo build --release`, its lock file taken from the revision.
# install: the CLI's clean install, run in the revision's tree as `$INSTALL_BEFORE` and
#     `$INSTALL_AFTER` with `--root DIR` appended (default, both: the old layout's
#     `cargo install --locked --path . --features cli`; after the workspace split, set
#     INSTALL_AFTER='cargo install --locked --path crates/clerk-rbac-cli').
#
# Every build starts from an empty CARGO_TARGET_DIR and runs `--offline` after a first
# `cargo fetch`, so the registry is not timed. Reports wall time and the CPU time (user + sys)
# of the whole cargo process tree (rustc, build scripts, the C compilers they run), and the
# after/before ratio of each round and of the totals.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=${1:?usage: benches/user_build.sh [dependent|install] BEFORE [AFTER] [RUNS]}
before=${2:?the earlier revision}
after=${3:-.}
runs=${4:-2}
old_install='cargo install --locked --path . --features cli'
install_before=${INSTALL_BEFORE:-$old_install}
install_after=${INSTALL_AFTER:-$old_install}
work=$(mktemp -d "${TMPDIR:-/tmp}/clerk-rbac-user-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The crate's files at a revision ("." = the working tree: tracked and untracked, not ignored).
checkout() {
    local revision=$1 dest=$2
    mkdir -p "$dest"
    if [ "$revision" = . ]; then
        git ls-files -z --cached --others --exclude-standard \
            | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
            | tar --null -T - -cf - | tar -x -C "$dest"
    else
        git archive "$revision" | tar -x -C "$dest"
    fi
}

# Where the timed command runs for a side, after fetching what it needs.
prepare() {
    local side=$1 revision=$2
    checkout "$revision" "$work/$side/crate"
    if [ "$mode" = install ]; then
        (cd "$work/$side/crate" && cargo fetch --locked --quiet)
        return
    fi
    mkdir -p "$work/$side/user/src"
    cp "$work/$side/crate/Cargo.lock" "$work/$side/user/Cargo.lock"
    cat > "$work/$side/user/Cargo.toml" <<'TOML'
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
    cat > "$work/$side/user/src/main.rs" <<'RUST'
#[tokio::main]
async fn main() {
    let clerk = clerk_rbac::Clerk::new("sk_test_x").expect("a client");
    if let Ok(page) = clerk.organization_roles().list().send().await {
        println!("{}", page.total_count);
    }
}
RUST
    # The workspace's lock pins idna_adapter to 1.1 for the CLI; a dependent of the library gets
    # Cargo's default (1.2, ICU4X) unless it pins it too.
    (cd "$work/$side/user" && cargo update --offline --quiet -p idna_adapter 2>/dev/null || true)
    (cd "$work/$side/user" && cargo fetch --quiet)
}

# One clean build; appends "side wall cpu" to $work/results.
build() {
    local side=$1 target="$work/$1/target" log="$work/$1/log"
    rm -rf "$target" "$work/$side/root"
    local command=(cargo build --release --offline) dir="$work/$side/user"
    if [ "$mode" = install ]; then
        local install=$install_before
        [ "$side" = after ] && install=$install_after
        read -r -a command <<< "$install --offline --root $work/$side/root"
        dir="$work/$side/crate"
    fi
    (cd "$dir" && CARGO_TARGET_DIR="$target" /usr/bin/time -f '%e %U %S' -o "$work/$side/time" \
        "${command[@]}" > "$log" 2>&1) || { tail -n 20 "$log" >&2; exit 1; }
    local crates
    crates=$(grep -c '^ *Compiling' "$log" || true)
    read -r wall user sys < "$work/$side/time"
    awk -v s="$side" -v w="$wall" -v u="$user" -v y="$sys" -v c="$crates" 'BEGIN {
        printf "%-6s wall %6.1f s  cpu %6.1f s (user %6.1f, sys %5.1f)  %d crates\n", s, w, u + y, u, y, c
        printf "%s %s %s\n", s, w, u + y >> "'"$work/results"'" }'
}

prepare before "$before"
prepare after "$after"
describe() { if [ "$1" = . ]; then echo "the working tree"; else git log -1 --format='%h %s' "$1"; fi; }
echo "mode $mode; before = $(describe "$before"); after = $(describe "$after"); load $(cut -d' ' -f1-3 /proc/loadavg)"
for ((run = 1; run <= runs; run++)); do
    if ((run % 2)); then build before; build after; else build after; build before; fi
    tail -n 2 "$work/results" | sort | awk '{ w[$1] = $2; c[$1] = $3 }
        END { printf "round %d: after/before  cpu %.2f x  wall %.2f x\n", '"$run"', c["after"] / c["before"], w["after"] / w["before"] }'
done
awk '{ w[$1] += $2; c[$1] += $3 }
    END { printf "total (%d rounds): before cpu %.1f s, after cpu %.1f s: %.2f x (wall %.2f x); load now %s\n",
        NR / 2, c["before"], c["after"], c["after"] / c["before"], w["after"] / w["before"], "'"$(cut -d' ' -f1 /proc/loadavg)"'" }' "$work/results"
