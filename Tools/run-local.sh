#!/usr/bin/env bash
# Rein's local sidecar quickstart on embedded defaults (no AWS account needed).
# It starts moto_server as a stand-in for AWS, starts `rein sidecar` with an
# example task policy, prints the environment an agent sets, and makes one
# allowed and one denied call with the AWS CLI, as an agent would.
# With a terminal attached it then keeps the sidecar running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/bootstrap.sh
swift build --product rein >/dev/null
rein="$(swift build --show-bin-path)/rein"
state="$(mktemp -d /tmp/rein-quickstart.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 300); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "timed out waiting for $1" >&2; return 1; }
moto_port=$(port); agent_port=$(port); admin_port=$(port); creds_port=$(port)

# Unset anything the machine presets: the agent gets all it needs from Rein.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_CA_BUNDLE AWS_ENDPOINT_URL HTTPS_PROXY https_proxy

echo "== Starting moto_server (a local stand-in for AWS) on 127.0.0.1:$moto_port"
moto_server -H 127.0.0.1 -p "$moto_port" >"$state/moto.log" 2>&1 & pids+=($!)
wait_for "http://127.0.0.1:$moto_port/moto-api/"

# The example task policy, with a validity window around now.
now=$(date -u +%s)
sed -e "s/^  notBefore: .*/  notBefore: $(date -u -d @$((now - 3600)) +%Y-%m-%dT%H:%M:%SZ)/" \
    -e "s/^  notAfter: .*/  notAfter: $(date -u -d @$((now + 6 * 86400)) +%Y-%m-%dT%H:%M:%SZ)/" \
    -e "s/\[eu-west-1\]/[us-east-1]/" \
    Deploy/examples/policy.yaml >"$state/policy.yaml"

echo "== Starting rein sidecar (policy: Deploy/examples/policy.yaml, upstream: moto)"
# Broker credentials for moto (which checks no signatures): example values.
AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \
"$rein" sidecar --config Deploy/examples/sidecar.yaml --state-dir "$state/state" --policy "$state/policy.yaml" \
    --upstream-endpoint "http://127.0.0.1:$moto_port" --listen "127.0.0.1:$agent_port" \
    --admin-listen "127.0.0.1:$admin_port" --credentials-listen "127.0.0.1:$creds_port" \
    --env-file "$state/agent.env" 2>"$state/sidecar.log" & pids+=($!)
wait_for "http://127.0.0.1:$admin_port/readyz" || { cat "$state/sidecar.log"; exit 1; }

echo
echo "== The environment an agent sets (it holds no AWS key):"
cat "$state/agent.env"
# shellcheck disable=SC1091
. "$state/agent.env"
export AWS_DEFAULT_REGION=us-east-1

echo
echo "== Allowed: upload the report (s3:PutObject on sales-reports/q3/*)"
# moto needs the buckets to exist; an operator creates them directly.
AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=x \
    AWS_CONTAINER_CREDENTIALS_FULL_URI= aws s3api create-bucket --bucket sales-reports >/dev/null
echo "Q3 revenue: 42" >"$state/report.txt"
aws s3 cp "$state/report.txt" s3://sales-reports/q3/report.txt

echo
echo "== Denied: list another bucket (not in the allowlist)"
if aws s3api list-objects-v2 --bucket hr-payroll 2>"$state/denied.txt"; then
    echo "unexpected: the call was allowed" >&2; exit 1
fi
cat "$state/denied.txt"

echo
echo "== The audit trail ($state/state/audit.jsonl), last two records:"
tail -n 2 "$state/state/audit.jsonl" | python3 Tools/audit-summary.py

echo
echo "Metrics: curl http://127.0.0.1:$admin_port/metrics   Audit: $state/state/audit.jsonl"
if [ -t 0 ]; then
    echo "The sidecar is running on 127.0.0.1:$agent_port. Press Ctrl-C to stop."
    wait "${pids[1]}"
fi
