#!/usr/bin/env bash
# Rein's local demo on embedded defaults (no AWS account needed).
# Until the sidecar lands, it runs the SigV4 engine the sidecar is built on:
# it verifies a captured boto3 DynamoDB PutItem, shows that a one-byte
# tampering is caught, and re-signs the request with broker credentials.
# (This becomes the local sidecar quickstart once `rein sidecar` exists.)
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/bootstrap.sh
swift build --product rein >/dev/null
rein="$(swift build --show-bin-path)/rein"
example=Deploy/examples/sigv4/dynamodb-putitem.http
# AWS's documentation example key pair: not a real secret.
export AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
at=2026-01-15T10:00:05Z

echo "== 1. Verify a captured boto3 request ($example)"
"$rein" sigv4 explain --at "$at" "$example"

echo
echo "== 2. The same request with one body byte changed"
tampered=$(mktemp)
trap 'rm -f "$tampered"' EXIT
sed 's/hello from the agent/hello from the agenT/' "$example" >"$tampered"
"$rein" sigv4 explain --at "$at" "$tampered" | head -1 || true

echo
echo "== 3. Re-signed with (example) broker credentials, as the sidecar forwards it"
REIN_BROKER_ACCESS_KEY_ID=ASIABROKEREXAMPLE REIN_BROKER_SECRET_ACCESS_KEY=brokerExampleSecret \
REIN_BROKER_SESSION_TOKEN=exampleBrokerSessionToken \
    "$rein" sigv4 explain --at "$at" --resign "$example"
echo
