#!/usr/bin/env bash
# Per-call overhead as instruction counts: GETs of one role, 8 in flight, by the facade (default
# retry policy, and retries off) and by a hand-written reqwest + serde_json call, each run under
# callgrind. Only the client's thread is counted (the loopback server has its own), so the
# figures do not depend on what else the machine is doing. A side's cost per call is the
# difference between a run of N calls and a run of none (both after the same set-up and
# warm-up), divided by N. Needs valgrind; run from the repository root.
#
#   benches/instructions.sh [calls per run, default 3000] [runs per side, default 3]
set -euo pipefail
calls=${1:-3000}
runs=${2:-3}
binary=$(cargo bench --bench client --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[ -x "$binary" ] || { echo "could not build the client benchmark" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The client thread's instruction count for one run: side, number of calls.
count() {
    valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg" \
        "$binary" calls "$1" "$2" >/dev/null 2>&1
    # Thread 1 is the main thread, which runs the client's current-thread runtime.
    sed -n 's/^summary: //p' "$out/cg-01"
    rm -f "$out"/cg*
}

sides=(by-hand default-policy retries-off)
declare -A per_call
for side in "${sides[@]}"; do per_call[$side]=0; done
for ((run = 1; run <= runs; run++)); do
    for side in "${sides[@]}"; do
        none=$(count "$side" 0)
        many=$(count "$side" "$calls")
        one=$(( (many - none) / calls ))
        per_call[$side]=$(( per_call[$side] + one ))
        echo "run $run, $side: $one instructions per call"
    done
done
echo
for side in "${sides[@]}"; do
    awk -v a="${per_call[$side]}" -v b="${per_call[by-hand]}" -v s="$side" -v r="$runs" \
        'BEGIN { printf "%-15s %6d instructions per call   ratio to by hand %.3f\n", s, a / r, a / b }'
done
