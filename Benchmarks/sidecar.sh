#!/usr/bin/env bash
# Sidecar benchmark: one signed S3 GetObject driven by wrk, side by side
#   1. direct to nginx (the upstream: a fixed 1 KiB object),
#   2. through nginx as a plain keep-alive reverse proxy,
#   3. through `rein sidecar` (release build, enforce mode, static broker),
#      with audit fsync off (the main figure) and on (the default),
# each at 1 and 32 connections. Prints one Markdown table and writes it to
# Benchmarks/results/sidecar.md. Prints figures only; fails only when a
# setup does not answer the request correctly (e.g. rein answers 403 or
# writes no audit record). Everything listens on 127.0.0.1; every process is
# stopped by PID on exit. Needs nginx, wrk and botocore (Tools/bootstrap.sh).
# REIN_BENCH_SCRATCH picks the SwiftPM scratch path (default .build).
# For a closer look at one setup: REIN_BENCH_SETUPS (default
# "direct proxy rein rein-fsync"), REIN_BENCH_CONNECTIONS (default "1 32")
# and REIN_BENCH_REPEATS (default 3) narrow the runs, and then nothing is
# rewritten; REIN_BENCH_KEEP=1 keeps the work directory (rein's state, its
# audit.jsonl with each call's phase latencies, and wrk's output).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
here=$root/Benchmarks/sidecar
duration=10 warmup=2 repeats=${REIN_BENCH_REPEATS:-3}
read -ra connections <<<"${REIN_BENCH_CONNECTIONS:-1 32}"
read -ra setups <<<"${REIN_BENCH_SETUPS:-direct proxy rein rein-fsync}"
partial=0
[[ ${#connections[@]} -eq 2 && ${#setups[@]} -eq 4 && $repeats -eq 3 ]] || partial=1

say() { echo "sidecar bench: $*" >&2; }
die() { echo "sidecar bench: FAILED: $*" >&2; exit 1; }

PATH=$PATH:/usr/sbin:/sbin
for tool in nginx wrk python3 swift; do
    command -v "$tool" >/dev/null || die "$tool not found (run Tools/bootstrap.sh)"
done
python3 -c 'import botocore' 2>/dev/null || die "botocore not importable (run Tools/bootstrap.sh)"

scratch=${REIN_BENCH_SCRATCH:-.build}
say "building rein (release, $scratch)"
swift build -c release --product rein --scratch-path "$scratch" >/dev/null
rein="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/rein"

work=$(mktemp -d /tmp/rein-bench-sidecar.XXXXXX)
chmod 0755 "$work"   # nginx workers run as an unprivileged user
pids=()
sampler=""
cleanup() {
    local status=$? pid i
    [[ -z $sampler ]] || kill "$sampler" 2>/dev/null || true
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if ((status == 0)) && [[ ${REIN_BENCH_KEEP:-0} != 1 ]]; then rm -rf "$work"; else echo "sidecar bench: logs kept in $work" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_port() { # pid port
    for _ in $(seq 300); do
        kill -0 "$1" 2>/dev/null || return 1
        (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- upstream and proxy nginx ----------------------------------------------
start_nginx() { # name template port [upstream_port]
    local prefix=$work/$1
    mkdir -p "$prefix/tmp" "$prefix/www/bench-bucket"
    chmod -R 0755 "$prefix"
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$3|g" -e "s|@UPSTREAM_PORT@|${4:-}|g" \
        "$here/$2" >"$prefix/nginx.conf"
    nginx -p "$prefix" -e "$prefix/error.log" -c "$prefix/nginx.conf" -g 'daemon off;' \
        >"$prefix/stdout.log" 2>&1 &
    pids+=($!)
    wait_port "$!" "$3" || die "nginx ($1) did not start: $(cat "$prefix/error.log" "$prefix/stdout.log" 2>/dev/null)"
}

upstream_port=$(free_port)
proxy_port=$(free_port)
start_nginx upstream upstream.conf.in "$upstream_port"
# The object: 1 KiB of JSON, as an agent would read.
python3 - "$work/upstream/www/bench-bucket/obj.json" <<'EOF'
import json, sys
rows = [{"region": "eu-west-1", "month": m, "total": 12345.67 + m} for m in range(1, 13)]
text = json.dumps({"report": "q3-sales", "rows": rows, "pad": ""})
text = text[:-2] + "x" * (1023 - len(text)) + '"}'
assert len(text) == 1023
open(sys.argv[1], "w").write(text + "\n")
EOF
chmod 0644 "$work/upstream/www/bench-bucket/obj.json"
start_nginx proxy proxy.conf.in "$proxy_port" "$upstream_port"

# --- rein ------------------------------------------------------------------
declare -A rein_pid rein_port rein_creds rein_dir
start_rein() { # name fsync
    local dir=$work/$1 port admin creds
    mkdir -p "$dir"
    port=$(free_port) admin=$(free_port) creds=$(free_port)
    cat >"$dir/policy.yaml" <<EOF
apiVersion: rein.dev/v1alpha1
kind: TaskPolicy
agent: {id: bench-agent, owner: bench@example.com}
task: {id: sidecar-bench, purpose: sidecar benchmark, notBefore: $(date -u -d '-1 day' +%FT%TZ), notAfter: $(date -u -d '+1 day' +%FT%TZ)}
mode: enforce
statements:
  - id: read-bench-objects
    effect: allow
    actions: [s3:GetObject]
    resources: ["arn:aws:s3:::bench-bucket/*"]
EOF
    cat >"$dir/sidecar.yaml" <<EOF
sidecar_id: bench
listen: 127.0.0.1:$port
admin_listen: 127.0.0.1:$admin
credentials_listen: 127.0.0.1:$creds
state_dir: $dir/state
policy_file: $dir/policy.yaml
mode: enforce
account_id: "123456789012"
upstream:
  endpoint: http://127.0.0.1:$upstream_port
broker:
  provider: static
  env_prefix: REIN_TEST_BROKER_
audit:
  fsync: $2
  spool_max_bytes: 16Gi   # no collector here: nothing is shipped, so the spool only grows
EOF
    env -i PATH="$PATH" HOME="${HOME:-/root}" \
        REIN_TEST_BROKER_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE \
        REIN_TEST_BROKER_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \
        "$rein" sidecar --config "$dir/sidecar.yaml" --env-file "$dir/agent.env" >"$dir/sidecar.log" 2>&1 &
    pids+=($!)
    rein_pid[$1]=$! rein_port[$1]=$port rein_creds[$1]=$creds rein_dir[$1]=$dir
    python3 - "$admin" <<'EOF' || die "rein ($1) did not become ready; its log: $(cat "$dir/sidecar.log")"
import sys, time, urllib.request
deadline = time.time() + 60
while time.time() < deadline:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/readyz", timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(1)
EOF
    sleep 1
    echo "${1}_idle_rss_kb=$(rss_kb "${rein_pid[$1]}")" >>"$work/info"
}
start_rein rein false
start_rein rein-fsync true

# --- the request and the checks ---------------------------------------------
target_port() { case $1 in direct) echo "$upstream_port" ;; proxy) echo "$proxy_port" ;; *) echo "${rein_port[$1]}" ;; esac; }
creds_of() { case $1 in rein-fsync) echo rein-fsync ;; *) echo rein ;; esac; }

sign() { # setup [--check]
    local c
    c=$(creds_of "$1")
    python3 "$here/sign_request.py" --creds-port "${rein_creds[$c]}" --token-file "${rein_dir[$c]}/state/agent-token" \
        --target "http://127.0.0.1:$(target_port "$1")" --out "$work/request-$1.txt" "${@:2}"
}

for s in "${setups[@]}"; do
    sign "$s" --check || die "$s does not answer the signed GetObject with 200$(
        [[ $s == rein* ]] && printf '; rein log:\n%s' "$(tail -20 "${rein_dir[$s]}/sidecar.log")")"
done
for s in "${setups[@]}"; do
    [[ $s == rein* ]] || continue
    python3 - "${rein_dir[$s]}/state/audit.jsonl" <<'EOF' || die "$s wrote no audit record for the allowed GetObject; its log: $(tail -20 "${rein_dir[$s]}/sidecar.log")"
import json, sys, time
deadline = time.time() + 5
while time.time() < deadline:
    try:
        records = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    except FileNotFoundError:
        records = []
    if records:
        r = records[-1]
        ok = (r.get("decision") == "allow" and r.get("forwarded") and r.get("upstream_status") == 200
              and r.get("operation") == "GetObject")
        if not ok:
            sys.exit(f"unexpected audit record: {json.dumps(r)}")
        sys.exit(0)
    time.sleep(0.05)
sys.exit("no audit record")
EOF
done
say "checks passed: ${setups[*]} answer 200; rein audited the call"

# --- measurements -----------------------------------------------------------
{
    echo "date=$(date -u +%F)"
    echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
    echo "cores=$(nproc)"
    echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "nginx=nginx $(dpkg-query -W -f='${Version}' nginx 2>/dev/null || nginx -v 2>&1 | sed 's/.*nginx\///')"
    echo "wrk=wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo '?')"
    echo "rein=$("$rein" version | awk '$1 == "rein" {print $2}')"
    echo "duration=$duration"
    echo "warmup=$warmup"
} >>"$work/info"

: >"$work/runs.tsv"
for s in rein rein-fsync; do : >"$work/rss-$s.txt"; done
total=$((repeats * ${#connections[@]} * ${#setups[@]})) n=0
for rep in $(seq "$repeats"); do
    for c in "${connections[@]}"; do
        for s in "${setups[@]}"; do
            n=$((n + 1))
            threads=$((c > 1 ? 2 : 1))
            url="http://127.0.0.1:$(target_port "$s")/bench-bucket/obj.json"
            sign "$s"
            REIN_BENCH_REQUEST=$work/request-$s.txt wrk -t"$threads" -c"$c" -d"${warmup}s" \
                -s "$here/request.lua" "$url" >/dev/null
            if [[ $s == rein* && $c -gt 1 ]]; then
                (while [[ -r /proc/${rein_pid[$s]}/status ]]; do rss_kb "${rein_pid[$s]}"; sleep 0.1; done \
                    >>"$work/rss-$s.txt" 2>/dev/null) &
                sampler=$!
            fi
            out=$work/wrk-$s-c$c-$rep.txt
            REIN_BENCH_REQUEST=$work/request-$s.txt wrk -t"$threads" -c"$c" -d"${duration}s" --latency \
                -s "$here/request.lua" "$url" >"$out"
            if [[ -n $sampler ]]; then kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true; sampler=""; fi
            line=$(grep '^REIN_BENCH ' "$out") || die "wrk printed no figures for $s c$c: $(cat "$out")"
            printf '%s\t%s\t%s\t%s\n' "$s" "$c" "$rep" "$line" >>"$work/runs.tsv"
            say "[$n/$total] $s c$c: $(awk '/^Requests\/sec/ {print $2}' "$out") req/s, $(sed -n 's/^ *50% *//p' "$out") p50$(
                grep -q 'Non-2xx' "$out" && echo ", $(grep 'Non-2xx' "$out" | xargs)")"
        done
    done
done
for s in rein rein-fsync; do
    echo "${s}_peak_rss_kb=$(sort -n "$work/rss-$s.txt" | tail -1)" >>"$work/info"
done
if ((partial)); then
    for out in "$work"/wrk-*.txt; do
        say "$(basename "$out" .txt): $(awk '/^Requests\/sec/ {print $2}' "$out") req/s; latency$(awk '/^ +(50|75|90|99)%/ {printf " p%s %s", $1, $2}' "$out" | tr -d %)"
    done
    say "a partial run (REIN_BENCH_SETUPS, _CONNECTIONS or _REPEATS): Benchmarks/results and the README are left as they were"
    exit 0
fi

# --- anything wrong? --------------------------------------------------------
awk -F'\t' '{ split($4, f, " "); for (i in f) if (f[i] ~ /^(non2xx|connect|read|write|timeout)=[1-9]/) { print "sidecar bench: WARNING: " $1 " c" $2 " run " $3 ": " f[i]; } }' \
    "$work/runs.tsv" >&2
for s in rein rein-fsync; do
    problems=$(grep -ciE 'error|warn|fault' "${rein_dir[$s]}/sidecar.log" || true)
    ((problems == 0)) || say "WARNING: $s logged $problems error/warning lines, e.g.: $(grep -iE 'error|warn|fault' "${rein_dir[$s]}/sidecar.log" | head -3)"
    say "$s audit log: $(wc -l <"${rein_dir[$s]}/state/audit.jsonl") records"
done

mkdir -p Benchmarks/results
python3 "$here/report.py" "$work/runs.tsv" "$work/info" | tee Benchmarks/results/sidecar.md

# The README carries the latest table between its markers.
python3 - README.md Benchmarks/results/sidecar.md <<'PY'
import sys
readme, table = sys.argv[1], open(sys.argv[2]).read().strip()
text = open(readme).read()
start, end = "<!-- sidecar-bench:start -->", "<!-- sidecar-bench:end -->"
if start in text and end in text:
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    open(readme, "w").write(f"{head}{start}\n{table}\n{end}{tail}")
    print("sidecar bench: README table updated", file=sys.stderr)
PY
