"""A disk that loses writes on demand, and one that fills up, for the disk-fault tests.

An ext4 file system (no journal, errors=continue) on a loop device whose
backing file is sparse, on a small tmpfs. Filling the tmpfs makes every
write-back to a block not written before fail at the loop device, so that
`fdatasync` reports EIO once and then, as Linux does, succeeds again with the
lost pages marked clean: the failure PostgreSQL met in 2018 ("fsyncgate").
Emptying the tmpfs lets writes succeed again.

Everything is mounted inside a private mount namespace held by a `sleep`
process (unshare -m), so nothing is mounted on the host; processes that need
the disk run inside it through nsenter. Needs root, util-linux and
e2fsprogs; `available()` says why not otherwise.
"""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


def available():
    """None when the disk can be made here, else why not."""
    if os.geteuid() != 0:
        return "needs root (mount, losetup)"
    for tool in ("unshare", "nsenter", "mkfs.ext4", "losetup", "mount"):
        if not shutil.which(tool):
            return f"needs {tool}"
    if not os.path.exists("/dev/loop-control"):
        return "needs loop devices"
    return None


class FailingDisk:
    def __init__(self, backing_mib=48, disk_mib=512):
        self.root = Path(tempfile.mkdtemp(prefix="rein-faildisk-"))
        self.back = self.root / "back"
        self.back.mkdir()
        self.mounts = []
        self.holder = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sleep", "infinity"])
        own = os.readlink("/proc/self/ns/mnt")
        deadline = time.time() + 10
        # nsenter before unshare() ran would enter the host's namespace: wait for the new one.
        while os.readlink(f"/proc/{self.holder.pid}/ns/mnt") == own:
            if time.time() > deadline:
                self.close()
                raise RuntimeError("the mount namespace did not appear")
            time.sleep(0.01)
        self.run(f"mount -t tmpfs -o size={backing_mib}m rein-faildisk {self.back}"
                 f" && truncate -s {disk_mib}M {self.back}/disk.img"
                 f" && mkfs.ext4 -q -O ^has_journal -E lazy_itable_init=1,nodiscard {self.back}/disk.img")

    def command(self, argv):
        """`argv`, run inside the namespace."""
        return ["nsenter", "-t", str(self.holder.pid), "-m", "--"] + [str(a) for a in argv]

    def run(self, script):
        result = subprocess.run(self.command(["sh", "-c", script]), capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{script}: {result.returncode} {result.stdout} {result.stderr}")
        return result.stdout

    def mount(self, path):
        """Mounts the disk at `path` (inside the namespace only)."""
        self.run(f"mkdir -p {path} && mount -o loop,errors=continue {self.back}/disk.img {path}")
        self.mounts.append(str(path))

    def small_tmpfs(self, path, size):
        """A tmpfs of `size` (e.g. "600k") at `path`: a disk that fills up (ENOSPC), nothing lost."""
        self.run(f"mkdir -p {path} && mount -t tmpfs -o size={size} rein-small {path}")
        self.mounts.append(str(path))

    def resize(self, path, size):
        self.run(f"mount -o remount,size={size} {path}")

    def remount(self, path):
        """Unmounts and mounts again: the file system's page cache is gone, what is read comes from the disk."""
        self.run(f"umount {path} && mount -o loop,errors=continue {self.back}/disk.img {path}")

    def unwritten_blocks(self, path):
        """Blocks of `path` the file system holds as allocated but unwritten
        (`filefrag -v`): they read back as zeros once the page cache is gone,
        whatever was written there. A write-back that failed leaves them so."""
        total = 0
        for line in self.run(f"filefrag -v {path}").splitlines():
            if "unwritten" in line:
                total += int(line.split(":")[3].split()[0])
        return total

    def fill(self):
        """From now on, writes to blocks never written before are lost."""
        self.run(f"dd if=/dev/zero of={self.back}/fill bs=1M 2>/dev/null || true")

    def free(self):
        self.run(f"rm -f {self.back}/fill")

    def close(self):
        if self.holder.poll() is None:
            for path in reversed(self.mounts):
                subprocess.run(self.command(["umount", "-l", path]), capture_output=True)
            subprocess.run(self.command(["umount", "-l", str(self.back)]), capture_output=True)
            self.holder.kill()
            self.holder.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)
