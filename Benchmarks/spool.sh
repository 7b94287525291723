#!/usr/bin/env bash
# Audit spool benchmark: the sidecar's audit cost per request (build the
# record, its JSON line and SHA-256 hash, and make it durable in the SQLite
# spool), with one request in flight and with 32 (group commit amortises the
# fsync), for plain records and for intent + completion (an allowed call).
# Release build; prints figures only and never fails on a number. Writes
# Benchmarks/results/spool.md. The spool lives in $TMPDIR (default /tmp): run
# it on the disk the sidecar's state_dir will use. REIN_BENCH_SCRATCH picks
# the SwiftPM scratch path (default .build); REIN_BENCH_SPOOL_SECONDS the
# length of each scenario (default 3); REIN_BENCH_SPOOL_REPEATS how many
# interleaved runs the 32-in-flight pair (with and without cpu_latency_qos)
# gets, its median reported (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${REIN_BENCH_SCRATCH:-.build}
swift build -c release --product rein-bench --scratch-path "$scratch" >/dev/null
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/rein-bench"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
load=$(cut -d' ' -f1-3 /proc/loadavg | sed 's/ /, /g')
"$bin" spool | tee "$out"

mkdir -p Benchmarks/results
{
    echo "# Audit spool: cost per request"
    echo
    sed -n '/^TABLE$/,$p' "$out" | tail -n +2
    echo
    result=$(grep '^RESULT ' "$out")
    seal=$(sed -n 's/.*seal_us=\([0-9.]*\).*/\1/p' <<<"$result")
    c32=$(sed -n 's/.* full_c32_us=\([0-9.]*\).*/\1/p' <<<"$result")
    c1=$(sed -n 's/.* full_c1_us=\([0-9.]*\).*/\1/p' <<<"$result")
    met() { awk -v v="$1" 'BEGIN { if (v <= 20) print "met"; else print "**not met**" }'; }
    field() { sed -n "s/.* $1=\\([0-9.]*\\).*/\\1/p" <<<" $result"; }
    runs() { sed -n "s/.* $1_runs=\\([0-9.\/]*\\).*/\\1/p" <<<" $result"; }
    c32qos=$(field full_c32_qos_us)
    qos=""
    if [ -n "$c32qos" ]; then
        qos=" With \`cpu_latency_qos\` (idle CPUs poll while the spool is busy; opt-in), 32 in flight: ${c32qos} µs ($(met "$c32qos"); runs $(runs full_c32_qos) µs); 1 in flight: $(field full_c1_qos_us) µs."
    fi
    echo "Target: sidecar audit cost ≤ 20 µs per request, the median of the interleaved runs of the 32-in-flight pair. Synchronous FULL, 32 in flight: ${c32} µs ($(met "$c32"); runs $(runs full_c32) µs); 1 in flight: ${c1} µs ($(met "$c1"): one fsync per request).${qos}"
    echo "Building the record, its line and its hash alone: ${seal} µs (the record $(field build_us) µs, its line $(field encode_us) µs on the caller's thread; chain fields and SHA-256 $(field chain_us) µs on the writer). Records are about $(field line_bytes) bytes."
    sync=$(field full_c32_sync_us)
    writer=$(field full_c32_writer_cpu_us)
    echo "What the disk allows at 32 in flight: the writer commits the next group while the previous one syncs, so a sync covers about half of the requests in flight, and each request costs at least 2 × ${sync} µs (one fsync here) / 32 = $(awk -v s="$sync" 'BEGIN { printf "%.1f", 2 * s / 32 }') µs of wall time before any CPU. Committing and syncing in turn instead would let one sync cover all 32 but put the commit in every cycle: ${sync} / 32 + ${writer} (the writer's CPU per record) = $(awk -v s="$sync" -v w="$writer" 'BEGIN { printf "%.1f", s / 32 + w }') µs if all 32 were in each group; measured, they are not (the writer takes the first records a sync's completions bring), and in turn was slower (Benchmarks/NOTES.md)."
    echo
    echo "$(date -u +%F), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1) ($(nproc) cores), load average before the run $load; SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo '(system)'), WAL; spool on $(df -P "${TMPDIR:-/tmp}" | awk 'NR == 2 {print $1}'). Each scenario runs ${REIN_BENCH_SPOOL_SECONDS:-3} s on a fresh spool, one producer thread keeping N requests in flight (as the event loops do; the '2 event-loop threads' row splits them over two); 'µs per request' is wall time divided by requests, 'CPU' is the process's CPU time divided by requests, then split by thread (producer: building and encoding records, as the event loops do; writer: sealing and SQLite; syncer: fdatasync and completions; the rest is the WAL checkpoint thread); 'µs per fsync' is the mean wall time of one fdatasync of the log. Intent + complete is two durable writes per request (the intent before forwarding, the record after the response)."
} >Benchmarks/results/spool.md
echo "spool bench: wrote Benchmarks/results/spool.md" >&2
