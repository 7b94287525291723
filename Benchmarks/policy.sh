#!/usr/bin/env bash
# Policy benchmark: decision time (5 and 50 statements with conditions) and
# load time for a 1,000-statement policy. Prints figures only.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product rein-bench >/dev/null
"$(swift build -c release --show-bin-path)/rein-bench" policy
