#!/usr/bin/env bash
# SigV4 verify + re-sign benchmark, with `openssl speed` for comparison.
# Prints figures only; never fails on a number.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product rein-bench >/dev/null
"$(swift build -c release --show-bin-path)/rein-bench" sigv4
echo
echo "openssl speed -evp sha256 (same machine, same library):"
openssl speed -evp sha256 -bytes 16384 -seconds 2 2>/dev/null | tail -1
openssl speed -evp sha256 -bytes 1048576 -seconds 2 2>/dev/null | tail -1 || true
