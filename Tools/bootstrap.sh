#!/usr/bin/env bash
# Installs what Rein needs on a fresh Debian 12 machine that has the Swift
# toolchain and Python: the system C libraries Rein links (OpenSSL 3,
# libcurl with OpenSSL, SQLite), and the pinned Python packages the interop
# tests drive. Idempotent: it does nothing when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(libssl-dev libcurl4-openssl-dev libsqlite3-dev zlib1g-dev openssl
              # real AWS clients the sidecar interop tests drive (AWS CLI v2 is Debian's awscli)
              curl s3cmd rclone restic awscli
              # fusermount, for a network-like file system under a state directory (rclone mount)
              fuse
              # upstream, reverse proxy and load generator for Benchmarks/sidecar.sh
              nginx wrk
              # renders the HTML framework report in a test (headless)
              chromium)
missing=()
for p in "${apt_packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "bootstrap: installing ${missing[*]}" >&2
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

requirements=(-r Tests/requirements.txt -r Tools/catalog/requirements.txt)
# Not -q on the dry run: pip 23 then prints nothing, not even "Would install".
# Its output is read whole first: `grep -q` in a pipe under pipefail could end
# pip with SIGPIPE and read as "nothing to install".
dry_run=$(python3 -m pip install --disable-pip-version-check "${requirements[@]}" --dry-run 2>/dev/null || true)
if grep -q "Would install" <<<"$dry_run"; then
    echo "bootstrap: installing pinned Python packages (Tests/requirements.txt, Tools/catalog/requirements.txt)" >&2
    python3 -m pip install -q --disable-pip-version-check "${requirements[@]}"
fi
