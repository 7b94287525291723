#!/usr/bin/env bash
# Catalog benchmark: load time and memory, and request analysis per protocol.
# Prints figures only; never fails on a number.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product rein-bench >/dev/null
"$(swift build -c release --show-bin-path)/rein-bench" catalog
