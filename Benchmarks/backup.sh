#!/usr/bin/env bash
# Backup under load: `rein collector backup` of a release collector holding
# about half of RECORDS (default 1000000), taken while the other half is
# shipped (Benchmarks/backup/backup_load.py). Release build; writes
# Benchmarks/results/backup.md. Prints figures only; never fails on a number.
#
#   Benchmarks/backup.sh [records]
set -euo pipefail
cd "$(dirname "$0")/.."
records="${1:-1000000}"
swift build -c release --product rein >/dev/null
bin="$(swift build -c release --show-bin-path)/rein"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
load="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 Benchmarks/backup/backup_load.py "$bin" "$records" "$work/backup" | tee "$work/out"
result="$(grep '^RESULT ' "$work/out")"
field() { sed -n "s/.* $1=\\([^ ]*\\).*/\\1/p" <<<" $result"; }
mkdir -p Benchmarks/results
{
    echo "# Collector backup under load"
    echo
    echo "| figure | value |"
    echo "|---|---|"
    echo "| store copied (records, size) | $(field store_records) records, $(field store_mib) MiB |"
    echo "| \`rein collector backup\`: copy, quick_check, SHA-256 of every file, manifest | $(field backup_s) s (exit $(field backup_rc)) |"
    echo "| ingest, one client shipping batches of 1,000, before the backup | $(field ingest_before_rps) records/s |"
    echo "| the same client while and after the backup runs | $(field ingest_during_rps) records/s |"
    echo "| every sidecar's chain verifies afterwards | $(field chains_verify) |"
    echo
    echo "$(date -u +%F), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') ($(nproc) cores), load average before $load; state and backup in ${TMPDIR:-/tmp}. One Python client ships every batch, so the ingest rates are the client's bound as much as the collector's (Benchmarks/collector.sh measures ingest itself)."
} >Benchmarks/results/backup.md
echo "backup bench: wrote Benchmarks/results/backup.md" >&2
