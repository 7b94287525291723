"""A state directory on a network file system is warned of, at start and by
check-config: every durable audit write would wait for the file server, a
lost write may go unreported, and SQLite's WAL is not meant for it.

The network file system is FUSE, through `rclone mount` of a local
directory (what s3fs, sshfs or a cloud bucket mount look like to the
kernel); EFS is NFS, which the same check names by its own type.
"""

import os
import shutil
import subprocess
import time

import pytest

from collector_harness import Collector
from sidecar_harness import Sidecar

pytestmark = pytest.mark.skipif(not (os.path.exists("/dev/fuse") and shutil.which("rclone") and shutil.which("fusermount")),
                                reason="needs /dev/fuse, fusermount and rclone")

POLICY = """apiVersion: rein.dev/v1alpha1
kind: TaskPolicy
agent: {id: agent-a, owner: owner@example.com}
task: {id: task-1, purpose: network state dir, notBefore: 2026-01-01T00:00:00Z, notAfter: 2027-12-31T00:00:00Z}
mode: enforce
statements:
  - id: buckets
    effect: allow
    actions: [s3:GetObject]
    resources: ["arn:aws:s3:::net-*/*"]
"""


@pytest.fixture
def fuse_mount(tmp_path):
    source, mount = tmp_path / "source", tmp_path / "mount"
    source.mkdir()
    mount.mkdir()
    proc = subprocess.Popen(["rclone", "mount", str(source), str(mount), "--vfs-cache-mode", "writes"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while not os.path.ismount(mount):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.skip("rclone mount did not come up here")
        time.sleep(0.1)
    yield mount
    subprocess.run(["fusermount", "-u", str(mount)], capture_output=True)
    proc.terminate()
    proc.wait(timeout=10)


def check_config(rein_bin, kind, config, state_dir):
    flag = ["--state-dir", str(state_dir)]
    return subprocess.run([rein_bin, kind, "check-config", "--config", str(config)] + flag,
                          capture_output=True, text=True, timeout=60)


def test_a_state_dir_on_a_network_file_system_is_warned_of(rein_bin, moto, fuse_mount):
    sidecar = Sidecar(rein_bin, moto.url, POLICY, sidecar_id="sc-net")
    collector = None
    try:
        config = sidecar.dir / "sidecar.yaml"
        remote = check_config(rein_bin, "sidecar", config, fuse_mount / "sidecar-state")
        assert remote.returncode == 0, remote.stderr
        assert "rein: warning: the audit spool " in remote.stderr and "is on a network file system (fuse)" in remote.stderr, remote.stderr
        local = check_config(rein_bin, "sidecar", config, sidecar.dir / "state")
        assert local.returncode == 0 and "network file system" not in local.stderr, local.stderr

        collector = Collector(rein_bin)
        remote = check_config(rein_bin, "collector", collector.config_path, fuse_mount / "collector-state")
        assert remote.returncode == 0, remote.stderr
        assert "the collector's database " in remote.stderr and "network file system (fuse)" in remote.stderr, remote.stderr
        local = check_config(rein_bin, "collector", collector.config_path, collector.dir / "state")
        assert local.returncode == 0 and "network file system" not in local.stderr, local.stderr
    finally:
        sidecar.stop()
        if collector is not None:
            collector.stop()
