#!/usr/bin/env bash
# Installs a built `rein` into a prefix, laid out as the container image has
# it: the binary, the SwiftPM resource bundles beside it (Bundle.module looks
# for Rein_ReinCatalog.resources, the bundled AWS catalog, next to the
# executable), and the framework catalogs the collector's reports use.
#
#   Tools/install.sh [--build-dir DIR] [--prefix DIR]
#
# Defaults: --build-dir .build/release, --prefix /usr/local. Installs
# PREFIX/bin/rein, PREFIX/bin/*.resources and PREFIX/share/rein/compliance.
# Deploy/container/Dockerfile runs it; Tests/interop/test_deploy_examples.py
# runs it on the debug build and starts the installed binary with .build
# hidden, so a resource left behind fails the test.
set -euo pipefail
cd "$(dirname "$0")/.."
build=.build/release
prefix=/usr/local
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 64 ;;
  esac
done
[ -x "$build/rein" ] || { echo "install.sh: no rein binary in $build (swift build -c release --product rein first)" >&2; exit 66; }
install -d "$prefix/bin" "$prefix/share/rein"
install -m 0755 "$build/rein" "$prefix/bin/rein"
for bundle in "$build"/*.resources; do
  [ -d "$bundle" ] || continue
  rm -rf "$prefix/bin/$(basename "$bundle")"
  cp -R "$bundle" "$prefix/bin/"
done
rm -rf "$prefix/share/rein/compliance"
cp -R Compliance "$prefix/share/rein/compliance"
echo "installed rein into $prefix (bin/rein, bin/*.resources, share/rein/compliance)"
