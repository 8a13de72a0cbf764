#!/usr/bin/env bash
# What generating the client at build time costs; see docs/benchmarks.md ("4. Build cost").
#
#   benches/build_cost.sh            # from the repository root; takes several minutes
#
# 1. Runs the compiled build script (the one `cargo build` last produced) several times and
#    reports the median: the cost paid on every build that reruns it.
# 2. Copies the crate twice into a temporary directory: once as it is ("script"), once with
#    the generated code checked in and build.rs and its build-dependencies removed
#    ("checked-in"). Builds each from nothing with its own CARGO_TARGET_DIR, one after the
#    other, then rebuilds the crate alone (`cargo clean -p clerk-rbac` first). Same lockfile,
#    same toolchain, offline, the manifest's own dev profile.
#
#   VARIANTS="checked-in" benches/build_cost.sh   # only some copies
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d "${TMPDIR:-/tmp}/clerk-rbac-build-cost.XXXXXX")
trap 'rm -rf "$work"' EXIT
runs=${RUNS:-5}

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "== 1. Build script run time (median of $runs runs)"
cargo build --quiet -p clerk-rbac
script=$(ls -t target/debug/build/clerk-rbac-*/build-script-build | head -n 1)
out="$work/out"
mkdir -p "$out"
for _ in $(seq "$runs"); do
    start=$(now)
    OUT_DIR="$out" CARGO_MANIFEST_DIR="$root" "$script" > /dev/null
    end=$(now)
    elapsed "$start" "$end"
    echo
done | median | awk '{ printf "build script: %.3f s\n", $1 }'
echo "generated: $(wc -l < "$out/clerk_api.rs") lines of client, $(wc -l < "$out/open_enums.rs") of open enums"

echo "== 2. Clean builds: generated at build time vs checked in"
copy_crate() {
    local dest=$1
    mkdir -p "$dest"
    cp -r Cargo.toml Cargo.lock build.rs openapi src benches "$dest/"
    for extra in README.md tests examples; do
        if [ -e "$extra" ]; then cp -r "$extra" "$dest/"; fi
    done
    # Only the crate itself: no workspace members.
    sed -i 's/^members = .*/members = []/' "$dest/Cargo.toml"
}
variants=${VARIANTS:-script checked-in}
copy_crate "$work/script"
copy_crate "$work/checked-in"
(
    cd "$work/checked-in"
    rm build.rs
    cp "$out/clerk_api.rs" "$out/open_enums.rs" src/
    sed -i 's|include!(concat!(env!("OUT_DIR"), "/clerk_api.rs"));|include!("clerk_api.rs");|' src/generated.rs
    sed -i 's|include!(concat!(env!("OUT_DIR"), "/open_enums.rs"));|include!("open_enums.rs");|' src/lib.rs
    sed -i '/^build = "build.rs"$/d' Cargo.toml
    # Drop the [build-dependencies] table, up to the next table.
    awk '/^\[/ { skip = ($0 == "[build-dependencies]") } !skip' Cargo.toml > Cargo.toml.new
    mv Cargo.toml.new Cargo.toml
    if grep -rn 'OUT_DIR' src; then
        echo "the checked-in copy still reads OUT_DIR" >&2
        exit 1
    fi
)

build() { # <variant> <label>
    local dir="$work/$1"
    local start end crates
    start=$(now)
    crates=$(cd "$dir" && CARGO_TARGET_DIR="$dir/target" \
        cargo build --offline -p clerk-rbac 2>&1 | grep -c 'Compiling' || true)
    end=$(now)
    printf '%-11s %-24s %8s s  (%s crates compiled)\n' "$1" "$2" "$(elapsed "$start" "$end")" "$crates"
}
for variant in $variants; do
    build "$variant" "clean build, all deps"
done
for variant in $variants; do
    (cd "$work/$variant" && CARGO_TARGET_DIR="$work/$variant/target" cargo clean --quiet -p clerk-rbac)
    build "$variant" "clean build, crate only"
done
