#!/usr/bin/env bash
# Per-call overhead as instruction counts: GETs of one role, 8 in flight, by the facade (default
# retry policy, and retries off) and by a hand-written reqwest + serde_json call, each run under
# callgrind, two ways:
# - thread: the client on a current-thread runtime on the main thread, the loopback server on
#   another thread of the same process; only the client's thread is counted;
# - process: the client on a multi-thread runtime (as `#[tokio::main]` builds it) in a process
#   of its own, the server in another (`serve`); every thread of the client's process is counted.
# A side's cost per call is the difference between a run of N calls and a run of none (both
# after the same set-up and warm-up), divided by N. Needs valgrind; run from the repository root.
#
#   benches/instructions.sh [calls per run, default 3000] [runs per side, default 3] [thread|process|both, default both]
set -euo pipefail
calls=${1:-3000}
runs=${2:-3}
modes=${3:-both}
binary=$(cargo bench --bench client --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[ -x "$binary" ] || { echo "could not build the client benchmark" >&2; exit 1; }
out=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null
    rm -rf "$out"
}
trap cleanup EXIT

# The instruction count of one run: mode, side, number of calls.
count() {
    if [ "$1" = thread ]; then
        valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg" \
            "$binary" calls "$2" "$3" >/dev/null 2>&1
        # Thread 1 is the main thread, which runs the client's current-thread runtime.
        sed -n 's/^summary: //p' "$out/cg-01"
    else
        valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
            "$binary" calls "$2" "$3" multi-thread "$url" >/dev/null 2>&1
        sed -n 's/^summary: //p' "$out/cg"
    fi
    rm -f "$out"/cg*
}

case $modes in
    both) modes="thread process" ;;
    thread | process) ;;
    *) echo "mode must be thread, process or both" >&2; exit 1 ;;
esac
if [[ $modes == *process* ]]; then
    "$binary" serve >"$out/url" &
    server=$!
    until [ -s "$out/url" ]; do sleep 0.1; done
    url=$(cat "$out/url")
fi

sides=(by-hand default-policy retries-off)
for mode in $modes; do
    declare -A per_call=()
    for side in "${sides[@]}"; do per_call[$side]=0; done
    for ((run = 1; run <= runs; run++)); do
        for side in "${sides[@]}"; do
            none=$(count "$mode" "$side" 0)
            many=$(count "$mode" "$side" "$calls")
            one=$(( (many - none) / calls ))
            per_call[$side]=$(( per_call[$side] + one ))
            echo "$mode, run $run, $side: $one instructions per call"
        done
    done
    echo
    for side in "${sides[@]}"; do
        awk -v a="${per_call[$side]}" -v b="${per_call[by-hand]}" -v s="$side" -v r="$runs" -v m="$mode" \
            'BEGIN { printf "%-8s %-15s %6d instructions per call   ratio to by hand %.3f\n", m, s, a / r, a / b }'
    done
    echo
done
