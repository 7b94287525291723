#!/usr/bin/env bash
# Runs every test: the Swift unit and vector tests (Swift Testing), then the
# Python interop tests that drive real clients and the built `rein` binary.
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/bootstrap.sh
swift build --build-tests
swift test --skip-build
REIN_BIN="$(swift build --show-bin-path)/rein" python3 -m pytest Tests/interop -q -p no:cacheprovider
