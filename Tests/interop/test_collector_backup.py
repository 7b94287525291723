"""`rein collector backup` and `restore` against a real, running `rein
collector`: a backup taken while batches arrive restores to a store that
verifies, a restore under the running collector is refused, a damaged
backup restores nothing, and what the backup missed comes back as a gap
finding, never silently.

Batches are shipped as a sidecar ships them (gzip NDJSON); all on 127.0.0.1.
"""

import json
import subprocess
import threading
import time

from collector_harness import Collector, ScriptedChain, ship
from sidecar_harness import clean_env, wait_for


def rein(rein_bin, collector, *args):
    return subprocess.run([rein_bin, "collector", *args, "--config", str(collector.config_path)], env=clean_env(),
                          capture_output=True, text=True, timeout=120)


def test_a_backup_taken_while_batches_arrive_restores_and_what_it_missed_is_a_gap(rein_bin, collector, tmp_path):
    chain = ScriptedChain("sc-b")
    status, body = ship(collector, "sc-b", [chain.seal() for _ in range(100)])
    assert status == 200, body
    status, _, data = collector.call("POST", "/v1/policies/agent-a", role="admin",
                                     body={"document": open_policy(), "message": "first"})
    assert status == 201, data

    # A shipper keeps going while the backup is taken.
    stop = threading.Event()
    errors = []

    def keep_shipping():
        while not stop.is_set():
            status, body = ship(collector, "sc-b", [chain.seal() for _ in range(20)])
            if status != 200:
                errors.append((status, body))
                return

    shipper = threading.Thread(target=keep_shipping)
    shipper.start()
    try:
        backup = tmp_path / "backup"
        r = rein(rein_bin, collector, "backup", str(backup))
    finally:
        stop.set()
        shipper.join(timeout=60)
    assert not errors, errors
    assert r.returncode == 0, r.stdout + r.stderr
    manifest = json.loads((backup / "backup.json").read_text())
    # Every record in the store: sc-b's, and the policy push's event in the collector's own chain.
    taken = manifest["contents"]["records"] - 1
    assert manifest["kind"] == "rein.collector.backup/v1"
    assert [f["name"] for f in manifest["files"]] == ["collector.sqlite", "holds.sqlite", "collector-signing.key"]
    assert taken >= 100 and (taken - 100) % 20 == 0, taken  # whole batches: one moment
    assert manifest["contents"]["policy_versions"] == 1
    assert f"store: {taken + 1} records (the sidecars' and the collector's own), 1 sidecars" in r.stdout
    assert "collector.sqlite: checked" in r.stderr
    assert "collector-signing.key, a secret" in r.stdout
    assert (backup.stat().st_mode & 0o777) == 0o700

    # Not while the collector runs.
    r = rein(rein_bin, collector, "restore", str(backup))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "cannot restore while the collector runs" in r.stderr
    assert f"(pid {collector.proc.pid})" in r.stderr

    shipped = chain.sequence
    assert shipped > taken  # the collector had acknowledged more than the backup holds
    collector.stop()
    r = rein(rein_bin, collector, "restore", "--check", str(backup))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "every file matches backup.json" in r.stdout
    r = rein(rein_bin, collector, "restore", str(backup))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "moved aside:" in r.stdout and ".before-restore-" in r.stdout
    assert "each sidecar's missing range becomes a gap finding" in r.stdout

    collector.start()
    records = collector.records(sidecar="sc-b")
    assert [x["sequence"] for x in records] == list(range(1, taken + 1))
    status, _, data = collector.call("GET", "/v1/audit/verify?sidecar=sc-b")
    assert status == 200, data
    assert json.loads(data)["findings"] == [], data
    status, _, data = collector.call("GET", "/v1/policies/agent-a")
    assert status == 200, data
    # The sidecar ships on from where it was: the records the backup missed are a gap, flagged.
    status, body = ship(collector, "sc-b", [chain.seal()])
    assert status == 200, body
    findings = collector.findings(sidecar="sc-b")
    assert [(f["kind"], f["sequence"]) for f in findings] == [("gap", taken + 1)], findings


def test_a_damaged_backup_restores_nothing(rein_bin, collector, tmp_path):
    chain = ScriptedChain("sc-d")
    status, body = ship(collector, "sc-d", [chain.seal() for _ in range(10)])
    assert status == 200, body
    backup = tmp_path / "backup"
    r = rein(rein_bin, collector, "backup", str(backup))
    assert r.returncode == 0, r.stdout + r.stderr
    r = rein(rein_bin, collector, "backup", str(backup))
    assert r.returncode == 1 and "is not empty; a backup never overwrites" in r.stderr, r.stderr

    data = bytearray((backup / "holds.sqlite").read_bytes())
    data[-10] ^= 1
    (backup / "holds.sqlite").write_bytes(bytes(data))
    collector.stop()
    for args in (("restore", "--check", str(backup)), ("restore", str(backup))):
        r = rein(rein_bin, collector, *args)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "the backup's holds.sqlite is not the file it recorded" in r.stderr, r.stderr
    assert not [p for p in (collector.dir / "state").iterdir() if "before-restore" in p.name]
    collector.start()
    assert len(collector.records(sidecar="sc-d")) == 10


def test_a_collector_with_backup_dir_takes_its_own_backup_that_restores(rein_bin, tmp_path):
    """With `backup.dir` and no backup there yet, the collector takes one at
    start (a new deployment's baseline); it passes `restore --check`, and a
    restart with a recent backup on disk does not take another."""
    backups = tmp_path / "backups"
    c = Collector(rein_bin, extra_config=f"backup:\n  dir: {backups}\n  interval: 1h\n  keep: 2\n")
    try:
        r = rein(rein_bin, c, "check-config")
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"backups    into {backups} every 3600s, the newest 2 kept" in r.stdout
        wait_for(lambda: len(list(backups.glob("rein-backup-*/backup.json"))) == 1, timeout=30, what="the first backup")
        [taken] = [p.parent for p in backups.glob("rein-backup-*/backup.json")]
        assert "backup taken" in c.log_text()
        r = rein(rein_bin, c, "restore", "--check", str(taken))
        assert r.returncode == 0, r.stdout + r.stderr
        # The copy ran inside the collector, beside its own connections: ingest goes on, whole.
        chain = ScriptedChain("sc-own")
        status, body = ship(c, "sc-own", [chain.seal() for _ in range(5)])
        assert status == 200, body
        c.stop()
        c.start()
        time.sleep(2)
        assert [p.name for p in backups.iterdir()] == [taken.name]
        status, body = ship(c, "sc-own", [chain.seal() for _ in range(5)])
        assert status == 200, body
        status, _, data = c.call("GET", "/v1/audit/verify?sidecar=sc-own")
        assert status == 200 and json.loads(data)["findings"] == [] and json.loads(data)["records"] == 10, data
    finally:
        c.stop()


def open_policy():
    return """apiVersion: rein.dev/v1alpha1
kind: TaskPolicy
agent: {id: agent-a, owner: owner@example.com}
task: {id: task-1, purpose: backup interop, notBefore: 2026-01-01T00:00:00Z, notAfter: 2027-12-31T00:00:00Z}
mode: enforce
statements:
  - id: read
    effect: allow
    actions: [s3:GetObject]
    resources: ["arn:aws:s3:::reports/*"]
"""
