"""A disk that loses writes under the collector and under a sidecar's spool,
and a disk that fills up under either (failing_disk.FailingDisk).

Linux reports a failed write-back to `fdatasync` once, then marks the lost
pages clean and lets the next `fdatasync` succeed. A store that went on
after that would acknowledge batches whose log frames, or frames before
them, are not on the disk, and a crash would lose them after the sidecars
had deleted their copies. The collector must instead refuse every write
from the first failed sync until it is restarted, say so on /readyz, and at
the restart rewrite its log from memory and sync it, so that everything it
acknowledged is on the disk, whatever happens next. A sidecar whose spool
cannot sync forwards nothing (fail closed) until it is restarted, and its
chain is whole after the restart. A full disk under the spool refuses calls
without forwarding them and without a restart (also when started on it), and
with room again goes on by itself, every forwarded call with its record;
shipping to a collector rides it out too, every record arriving once. A full disk under the
collector refuses batches with a 503 that names it, without a restart and
without keeping any part of them, and with room again takes them all once.
"""

import json
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import failing_disk
from collector_harness import Collector, ScriptedChain, ship, ship_call
from sidecar_harness import Sidecar, wait_for
from webhook_receiver import Webhook

pytestmark = pytest.mark.skipif(failing_disk.available() is not None, reason=str(failing_disk.available()))


class CollectorOnDisk(Collector):
    """A collector whose state directory is on `disk` (or, with `tmpfs_size`,
    on a small tmpfs that fills up), run inside the disk's namespace."""

    def __init__(self, rein_bin, disk, extra_config="", tmpfs_size=None):
        self.disk = disk
        self.tmpfs_size = tmpfs_size
        self.mounted = False
        self.command_prefix = disk.command([])
        super().__init__(rein_bin, extra_config=extra_config)

    def start(self):
        if not self.mounted:
            if self.tmpfs_size:
                self.disk.small_tmpfs(self.dir / "state", self.tmpfs_size)
            else:
                self.disk.mount(self.dir / "state")
            self.mounted = True
        super().start()

    def metrics(self):
        status, _, body = self.call("GET", "/metrics", role="metrics")
        assert status == 200, body
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in body.decode().splitlines() if line and not line.startswith("#")}

    def readyz(self):
        status, _, body = self.call("GET", "/readyz", role=None)
        return status, body.decode()


def register(collector, sidecar_id):
    status, _, data = collector.call("POST", "/v1/sidecars/register", role="sidecar", body={
        "sidecar_id": sidecar_id, "agent_id": "agent-a", "task_id": "task-1", "public_key": "ab" * 32, "version": "test"})
    assert status == 200, data


def test_a_failed_sync_stops_acknowledgements_until_a_restart_recovers_the_log(rein_bin):
    disk = failing_disk.FailingDisk()
    hook = Webhook()
    collector = None
    try:
        collector = CollectorOnDisk(rein_bin, disk, extra_config=f"alerts:\n  webhook_url: {hook.url}\n")
        register(collector, "sc-disk")
        chain = ScriptedChain("sc-disk")
        batch_a = [chain.seal() for _ in range(50)]
        batch_b = [chain.seal(user_agent="x" * 1000) for _ in range(3000)]
        batch_c = [chain.seal() for _ in range(50)]
        status, body = ship(collector, "sc-disk", batch_a)
        assert status == 200 and body["accepted"] == 50, body
        assert collector.readyz()[0] == 200

        # The disk starts losing writes: the batch whose log cannot be synced is refused.
        disk.fill()
        status, body = ship(collector, "sc-disk", batch_b)
        assert status >= 500, (status, body)
        status, text = collector.readyz()
        assert status == 503 and "cannot make writes durable" in text, text
        assert "restart" in text, text
        status, _, body = collector.call("GET", "/healthz", role=None)
        assert status == 503 and b"until restarted" in body, body
        # Operators hear of it once: a critical log line and the alert webhook.
        alerts = wait_for(lambda: [p for _, p in hook.posts if p["rein"]["alert"] == "store-sync-failed"], timeout=20,
                          what="the store fault alert")
        assert "restart the collector" in alerts[0]["text"]
        assert "lost a sync of its log" in collector.log_text()

        # The disk works again, and a sync would now succeed: nothing is
        # acknowledged anyway, the lost pages are not on the disk.
        disk.free()
        status, body = ship(collector, "sc-disk", batch_c)
        assert status == 503 and body["code"] == "Unavailable" and "restarted" in body["message"], (status, body)
        assert "not written" in collector.log_text()
        assert collector.readyz()[0] == 503

        # The failed write-back left blocks the file system holds as unwritten.
        state = collector.dir / "state"
        assert disk.unwritten_blocks(state / "collector.sqlite-wal") > 0
        # A restart writes the database and its log anew from memory and syncs
        # them: new files, whose blocks are written (a rewrite in place kept
        # the unwritten ones, and commits landing there were lost at a remount).
        collector.kill9()
        collector.start()
        assert "recovered from a failed sync" in collector.log_text()
        for name in ("collector.sqlite", "collector.sqlite-wal"):
            assert disk.unwritten_blocks(state / name) == 0, name
        wait_for(lambda: collector.readyz()[0] == 200, timeout=30, what="the collector ready again")
        assert collector.call("GET", "/healthz", role=None)[0] == 200
        for batch in (batch_b, batch_c):
            status, body = ship(collector, "sc-disk", batch)
            assert status == 200, (status, body)

        # Crash again and drop the file system's page cache: only what is on
        # the disk is read back, and every acknowledged record is there once.
        collector.kill9()
        disk.remount(collector.dir / "state")
        collector.start()
        wait_for(lambda: collector.readyz()[0] == 200, timeout=30, what="the collector ready after the remount")
        records = collector.records(sidecar="sc-disk")
        assert [r["sequence"] for r in records] == list(range(1, 3101))
        assert collector.findings(sidecar="sc-disk") == []
        result = collector.json("GET", "/v1/audit/verify?sidecar=sc-disk")
        assert result["ok"] is True, result
    finally:
        if collector is not None:
            collector.stop()
        disk.close()
        hook.stop()
    assert len([p for _, p in hook.posts if p["rein"]["alert"] == "store-sync-failed"]) == 1


def test_a_full_disk_under_the_collector_refuses_batches_until_space_is_freed(rein_bin):
    disk = failing_disk.FailingDisk()
    hook = Webhook()
    collector = None
    try:
        collector = CollectorOnDisk(rein_bin, disk, extra_config=f"alerts:\n  webhook_url: {hook.url}\n", tmpfs_size="4m")
        register(collector, "sc-full")
        chain = ScriptedChain("sc-full")
        batches, refused = [], None
        for _ in range(40):
            batch = [chain.seal(user_agent="x" * 500) for _ in range(500)]
            batches.append(batch)
            status, headers, body = ship_call(collector, "sc-full", batch)
            if status != 200:
                refused = (status, headers, body)
                break
        assert refused is not None, "the disk never filled"
        status, headers, body = refused
        # Named, with a time to come back: sidecars keep their records and retry.
        assert status == 503 and body["code"] == "InsufficientStorage", (status, body)
        assert "disk is full" in body["message"] and headers.get("Retry-After") == "30", (headers, body)
        stored = 500 * (len(batches) - 1)
        metrics = collector.metrics()
        assert metrics["rein_collector_store_disk_full"] == 1
        assert metrics["rein_collector_store_sync_failed"] == 0
        assert "rein_collector_store_disk_free_bytes" in metrics
        # Reads still answer, and nothing of the refused batch was kept.
        assert collector.readyz()[0] == 200
        assert len(collector.records(sidecar="sc-full")) == stored
        alerts = wait_for(lambda: [p for _, p in hook.posts if p["rein"]["alert"] == "store-disk-full"], timeout=20,
                          what="the full disk alert")
        assert "no restart needed" in alerts[0]["text"]
        assert "the collector's disk is full" in collector.log_text()
        # Still full: a batch larger than the whole disk is refused. (Not the
        # refused batch again: once the checkpointer has restarted the log,
        # SQLite writes over the log file's old frames, which takes no new
        # space, so that batch may fit by now, and then it is rightly stored.)
        probe = [chain.seal(user_agent="x" * 10_000) for _ in range(500)]
        status, headers, body = ship_call(collector, "sc-full", probe)
        assert status == 503 and body["code"] == "InsufficientStorage", (status, body)
        assert len(collector.records(sidecar="sc-full")) == stored

        # Space is freed: the same process takes the refused batches and the rest, each record once.
        disk.resize(collector.dir / "state", "64m")
        for batch in [batches[-1], probe, [chain.seal() for _ in range(100)]]:
            status, body = ship(collector, "sc-full", batch)
            assert status == 200, (status, body)
        records = collector.records(sidecar="sc-full")
        assert [r["sequence"] for r in records] == list(range(1, chain.sequence + 1))
        assert collector.findings(sidecar="sc-full") == []
        assert collector.json("GET", "/v1/audit/verify?sidecar=sc-full")["ok"] is True
        assert collector.metrics()["rein_collector_store_disk_full"] == 0
        wait_for(lambda: "has room again" in collector.log_text(), timeout=20, what="the collector to say it stores again")
    finally:
        if collector is not None:
            collector.stop()
        disk.close()
        hook.stop()
    assert len([p for _, p in hook.posts if p["rein"]["alert"] == "store-disk-full"]) == 1
    assert not [p for _, p in hook.posts if p["rein"]["alert"] == "store-sync-failed"]


def test_a_backup_that_would_fill_the_collectors_disk_is_refused_before_it_starts(rein_bin, tmp_path):
    disk = failing_disk.FailingDisk()
    collector = None
    try:
        collector = CollectorOnDisk(rein_bin, disk, tmpfs_size="16m")
        register(collector, "sc-room")
        chain = ScriptedChain("sc-room")
        state = collector.dir / "state"

        def store_bytes():
            sizes = disk.run(f"stat -c %s {state}/collector.sqlite {state}/collector.sqlite-wal").split()
            return sum(int(n) for n in sizes)
        # Until the store takes more than half the disk (how big its log gets
        # depends on when checkpoints run): a copy beside it cannot leave a tenth free.
        while store_bytes() < 9 << 20:
            status, body = ship(collector, "sc-room", [chain.seal(user_agent="x" * 500) for _ in range(200)])
            assert status == 200, (status, body, store_bytes())

        def backup(target):
            return subprocess.run(disk.command([rein_bin, "collector", "backup", target, "--config", collector.config_path]),
                                  capture_output=True, text=True, timeout=120)

        # Beside the database, a copy would leave the disk nearly full: refused, with the figures, and nothing written.
        beside = collector.dir / "state" / "backups" / "b1"
        refused = backup(beside)
        assert refused.returncode != 0, refused.stdout
        assert "would leave less than 10% free" in refused.stderr and "nothing was written" in refused.stderr, refused.stderr
        assert disk.run(f"ls -A {beside.parent} 2>/dev/null || true").strip() == ""
        # Ingest goes on.
        status, body = ship(collector, "sc-room", [chain.seal() for _ in range(50)])
        assert status == 200, (status, body)
        # On another disk it fits, and is taken.
        elsewhere = tmp_path / "backup"
        taken = backup(elsewhere)
        assert taken.returncode == 0, taken.stderr
        assert json.loads((elsewhere / "backup.json").read_text())["contents"]["records"] >= chain.sequence
    finally:
        if collector is not None:
            collector.stop()
        disk.close()


POLICY = """apiVersion: rein.dev/v1alpha1
kind: TaskPolicy
agent: {id: agent-a, owner: owner@example.com}
task: {id: task-1, purpose: sync fault, notBefore: 2026-01-01T00:00:00Z, notAfter: 2027-12-31T00:00:00Z}
mode: enforce
statements:
  - id: buckets
    effect: allow
    actions: [s3:CreateBucket, s3:PutObject, s3:GetObject]
    resources: ["arn:aws:s3:::fault-*", "arn:aws:s3:::fault-*/*"]
"""

# Reads the spool inside the namespace: its sequences and whether each record names the one before.
SPOOL_CHAIN = """
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print(con.execute("pragma integrity_check").fetchone()[0])
lines = [json.loads(l) for (l,) in con.execute("select line from records order by seq")]
print(json.dumps([[r["sequence"], r["prev_hash"], r["hash"]] for r in lines]))
"""


class SidecarOnDisk(Sidecar):
    """A sidecar whose audit spool is on `disk` (or, with `tmpfs_size`, on a
    small tmpfs that fills up), run inside the disk's namespace."""

    def __init__(self, rein_bin, upstream, disk, tmpfs_size=None, extra_config=""):
        self.disk = disk
        self.spool_dir = disk.root / "spool"
        if tmpfs_size:
            disk.small_tmpfs(self.spool_dir, tmpfs_size)
        else:
            disk.mount(self.spool_dir)
        self.command_prefix = disk.command([])
        super().__init__(rein_bin, upstream, POLICY, sidecar_id="sc-disk", fsync=True,
                         audit_config=f"  spool_path: {self.spool_dir / 'audit-spool.db'}", extra_config=extra_config)

    def s3(self):
        """The agent's S3 client through the sidecar, without retries: every refusal shows."""
        return self.agent_session().client("s3", region_name="us-east-1", endpoint_url=self.url,
                                           config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=30))

    def probe(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def readyz(self):
        return self.probe("/readyz")

    def healthz(self):
        return self.probe("/healthz")[0]

    def spool_chain(self):
        out = self.disk.run(f"python3 -c '{SPOOL_CHAIN}' {self.spool_dir / 'audit-spool.db'}").splitlines()
        return out[0], json.loads(out[1])


def test_a_sidecar_whose_spool_cannot_sync_fails_closed_and_recovers_at_restart(rein_bin, moto):
    disk = failing_disk.FailingDisk()
    sc = None
    try:
        sc = SidecarOnDisk(rein_bin, moto.url, disk)
        s3 = sc.s3()
        s3.create_bucket(Bucket="fault-1")
        s3.put_object(Bucket="fault-1", Key="before", Body=b"x")

        # The disk starts losing writes: within a few calls a sync of the spool fails, and that call is refused.
        disk.fill()
        refused = None
        for i in range(40):
            try:
                s3.put_object(Bucket="fault-1", Key=f"during-{i}", Body=b"x" * 3000)
            except ClientError as e:
                refused = e
                break
        assert refused is not None, "no call failed while the disk lost writes"
        assert refused.response["ResponseMetadata"]["HTTPStatusCode"] == 503, refused.response
        status, text = sc.readyz()
        assert status == 503 and "the audit spool cannot make writes durable" in text, text

        # The disk works again; the sidecar still forwards nothing until it is restarted.
        disk.free()
        with pytest.raises(ClientError) as again:
            s3.put_object(Bucket="fault-1", Key="after-free", Body=b"x")
        assert again.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        keys = {o["Key"] for o in moto.client("s3").list_objects_v2(Bucket="fault-1").get("Contents", [])}
        assert "after-free" not in keys

        # A restart writes the spool and its log anew and goes on from the chain it holds.
        sc.kill9()
        sc.start()
        assert "recovered from a failed sync" in sc.log_text()
        for name in ("audit-spool.db", "audit-spool.db-wal"):
            assert disk.unwritten_blocks(sc.spool_dir / name) == 0, name
        s3.put_object(Bucket="fault-1", Key="restarted", Body=b"x")

        # Crash, drop the file system's page cache, start again: the chain read from the disk is whole.
        sc.kill9()
        disk.remount(sc.spool_dir)
        sc.start()
        s3.put_object(Bucket="fault-1", Key="remounted", Body=b"x")
        wait_for(lambda: sc.spool_chain()[1][-1:] and "remounted" in json.dumps(sc.audit()[-1:]), timeout=10,
                 what="the last call's record")
        integrity, chain = sc.spool_chain()
        assert integrity == "ok"
        assert [c[0] for c in chain] == list(range(1, len(chain) + 1))
        assert all(chain[i][1] == chain[i - 1][2] for i in range(1, len(chain)))
    finally:
        if sc is not None:
            sc.stop()
        disk.close()


def test_a_full_disk_under_the_spool_refuses_calls_until_space_is_freed_and_loses_no_record(rein_bin, moto):
    disk = failing_disk.FailingDisk()
    sc = None
    try:
        # A 600 KiB file system, far below the spool's cap.
        sc = SidecarOnDisk(rein_bin, moto.url, disk, tmpfs_size="600k")
        s3 = sc.s3()
        s3.create_bucket(Bucket="fault-full")

        def keys_in_moto():
            return {o["Key"] for o in moto.client("s3").list_objects_v2(Bucket="fault-full", MaxKeys=5000).get("Contents", [])}

        def put_until_refused(prefix):
            """Calls until one is refused: (how many were answered, the refusal)."""
            for n in range(3000):
                try:
                    s3.put_object(Bucket="fault-full", Key=f"{prefix}{n}", Body=b"x")
                except ClientError as e:
                    return n, e
            raise AssertionError("the disk never filled")

        answered, error = put_until_refused("k")
        i = answered
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert "the disk under its audit spool is full" in error.response["Error"]["Message"], error.response
        # Every answered call reached moto. The refused one did only if its
        # intent was stored before the disk filled: its outcome is then held.
        assert {f"k{n}" for n in range(answered)} <= keys_in_moto() <= {f"k{n}" for n in range(answered + 1)}
        status, text = sc.readyz()
        assert status == 503 and "the disk under the audit spool is full" in text, text
        assert sc.healthz() == 200, "a full disk passes: liveness must not ask for a restart"
        assert "rein_audit_spool_disk_full 1" in sc.metrics()

        # Still full: refused. (Its intent may still fit where the record does
        # not; then it went out, and its record is checked for at the end.)
        with pytest.raises(ClientError) as again:
            s3.put_object(Bucket="fault-full", Key="while-full", Body=b"x")
        assert again.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503

        # Room again: with no restart, calls go through and readiness returns.
        disk.resize(sc.spool_dir, "4m")
        s3.put_object(Bucket="fault-full", Key="after-room", Body=b"x")
        wait_for(lambda: sc.readyz()[0] == 200, timeout=10, what="the sidecar ready again")
        metrics = sc.metrics()
        assert "rein_audit_spool_disk_full 0" in metrics and "rein_audit_spool_held_outcomes 0" in metrics
        assert "the disk under the audit spool has room again" in sc.log_text()
        for key in {f"k{i}", "while-full"} & keys_in_moto():
            # A refused call that went out has its record, with what moto answered.
            wait_for(lambda: any(r.get("upstream_status") == 200 and r.get("grants")
                                 and r["grants"][0]["resources"][0].endswith(f"fault-full/{key}") for r in sc.audit()),
                     timeout=10, what="the held outcome's record")

        # Full again, and a restart on the full disk: it starts and refuses
        # calls (an orchestrator's restart does not crash-loop), and goes on
        # once space is freed, again with no restart.
        disk.run(f"dd if=/dev/zero of={sc.spool_dir}/filler bs=4k 2>/dev/null; true")
        put_until_refused("full-again-")
        sc.kill9()
        sc.start(ready=False)
        # The log it reuses may still take a few; then the disk refuses.
        _, restarted = put_until_refused("restarted-")
        assert restarted.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert "the disk under its audit spool is full" in restarted.response["Error"]["Message"]
        assert sc.readyz()[0] == 503
        disk.run(f"rm {sc.spool_dir}/filler")
        s3.put_object(Bucket="fault-full", Key="after", Body=b"x")
        wait_for(lambda: any("fault-full/after" in json.dumps(r) for r in sc.audit()), timeout=10, what="the last call's record")

        # The chain is whole, and every call that reached moto has its record.
        integrity, chain = sc.spool_chain()
        assert integrity == "ok"
        assert [c[0] for c in chain] == list(range(1, len(chain) + 1))
        assert all(chain[n][1] == chain[n - 1][2] for n in range(1, len(chain)))
        recorded = {r["grants"][0]["resources"][0].rsplit("/", 1)[1] for r in sc.audit()
                    if r.get("operation") == "PutObject" and r.get("grants")}
        assert keys_in_moto() <= recorded
    finally:
        if sc is not None:
            sc.stop()
        disk.close()


def test_a_sidecar_shipping_to_a_collector_rides_out_a_full_disk(rein_bin, moto, collector):
    """The disk under the spool fills while the collector is away: calls are
    refused. The collector comes back while the disk is still full, so
    acknowledgements may fail too (a delete needs room in the log) and are
    retried. Once space is freed everything ships once, with no restart of
    the sidecar and no finding."""
    disk = failing_disk.FailingDisk()
    sc = None
    try:
        sc = SidecarOnDisk(rein_bin, moto.url, disk, tmpfs_size="600k", extra_config=f"""collector:
  url: {collector.url}
  token_file: {collector.token_file("sidecar")}
  batch_max_interval: 200ms
  heartbeat_interval: 1s
""")
        s3 = sc.s3()
        s3.create_bucket(Bucket="fault-ship")
        s3.put_object(Bucket="fault-ship", Key="first", Body=b"x")
        wait_for(lambda: any(r.get("operation") == "PutObject" for r in collector.records(sidecar="sc-disk")), timeout=20,
                 what="the first record at the collector")

        # The collector goes away; the spool grows until its disk is full.
        collector.stop()
        refused = None
        for n in range(3000):
            try:
                s3.put_object(Bucket="fault-ship", Key=f"k{n}", Body=b"x")
            except ClientError as e:
                refused = e
                break
        assert refused is not None, "the disk never filled"
        assert refused.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert "the disk under its audit spool is full" in refused.response["Error"]["Message"], refused.response

        # Back while the disk is still full: batches go, acknowledgements may not.
        collector.start()
        time.sleep(3)
        assert sc.healthz() == 200

        disk.resize(sc.spool_dir, "8m")
        s3.put_object(Bucket="fault-ship", Key="after-room", Body=b"x")
        in_moto = {o["Key"] for o in moto.client("s3").list_objects_v2(Bucket="fault-ship", MaxKeys=10000).get("Contents", [])}

        def all_shipped():
            stored = [r for r in collector.records(sidecar="sc-disk") if r.get("operation") == "PutObject"]
            keys = {r["grants"][0]["resources"][0].rsplit("/", 1)[1] for r in stored if r.get("grants")}
            return in_moto <= keys
        wait_for(all_shipped, timeout=60, what="every forwarded call's record at the collector")
        sequences = [r["sequence"] for r in collector.records(sidecar="sc-disk")]
        assert len(sequences) == len(set(sequences)), "a record was stored twice"
        assert sorted(sequences) == list(range(1, len(sequences) + 1))
        assert collector.findings(sidecar="sc-disk") == []
        result = collector.json("GET", "/v1/audit/verify?sidecar=sc-disk")
        assert result["ok"] is True, result
        wait_for(lambda: sc.readyz()[0] == 200, timeout=10, what="the sidecar ready again")
        assert "rein_audit_spool_disk_full 0" in sc.metrics()
    finally:
        if sc is not None:
            sc.stop()
        disk.close()
