"""A real `rein sidecar` shipping its audit trail to a real `rein collector`:
shipping and verification (checkpoints included), a partition, a tiny spool
cap failing closed, a kill -9 under load, tampering with the spool before it
ships, and central policies enforced through long-poll and last-known-good.

Clients are boto3 through the sidecar; upstream is moto; all on 127.0.0.1.
"""

import hashlib
import json
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from collector_harness import Collector
from sidecar_harness import ACCOUNT, Sidecar, free_port, wait_for

POLICY = """apiVersion: rein.dev/v1alpha1
kind: TaskPolicy
agent: {{id: agent-a, owner: owner@example.com}}
task: {{id: task-1, purpose: audit interop, notBefore: 2026-01-01T00:00:00Z, notAfter: 2027-12-31T00:00:00Z}}
mode: enforce
statements:
  - id: buckets
    effect: allow
    actions: [s3:CreateBucket, s3:ListBucket, s3:PutObject, s3:GetObject, s3:DeleteObject]
    resources: ["arn:aws:s3:::{prefix}*", "arn:aws:s3:::{prefix}*/*"]
"""

NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30)


def link(url, token_file, extra=""):
    return f"""collector:
  url: {url}
  token_file: {token_file}
  batch_max_interval: 200ms
  heartbeat_interval: 1s
{extra}"""


def push_policy(collector, document, message):
    """Pushes agent-a's policy as admin; returns the new version."""
    status, _, data = collector.call("POST", "/v1/policies/agent-a", role="admin", body={"document": document, "message": message})
    assert status == 201, data
    return json.loads(data)["version"]


def s3(sidecar):
    return sidecar.agent_session().client("s3", region_name="us-east-1", endpoint_url=sidecar.url, config=NO_RETRY)


def public_key_of(sidecar):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    seed = bytes.fromhex((sidecar.dir / "state" / "audit-signing.key").read_text().strip())
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def test_calls_ship_with_a_verifiable_signed_chain(rein_bin, moto, collector, tmp_path):
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="ship-"), sidecar_id="sc-ship",
                 audit_config="  checkpoint_interval: 500ms",
                 extra_config=link(collector.url, collector.token_file("sidecar")))
    try:
        c = s3(sc)
        c.create_bucket(Bucket="ship-1")
        c.put_object(Bucket="ship-1", Key="k", Body=b"hello")
        assert c.get_object(Bucket="ship-1", Key="k")["Body"].read() == b"hello"
        with pytest.raises(ClientError) as denied:
            c.create_bucket(Bucket="elsewhere")
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        local = sc.wait_audit(4)
        assert len(local) == 4
        shipped = wait_for(lambda: (r := collector.records(sidecar="sc-ship")) and len(r) >= 4 and r, what="records to ship")
        assert {r["record_id"] for r in shipped} == {r["record_id"] for r in local}
        assert sorted(r["sequence"] for r in shipped) == [1, 2, 3, 4]
        # (Not by position: an allowed call's record is sealed after its response, so the denial may come first.)
        assert sorted(r["decision"] for r in shipped) == ["allow", "allow", "allow", "deny"]
        # A signed checkpoint arrived and verified against the registered key.
        time.sleep(1.5)
        assert collector.findings(sidecar="sc-ship") == []
        result = collector.json("GET", "/v1/audit/verify?sidecar=sc-ship")
        assert result["ok"] is True and result["records"] >= 4 and result["checkpoints"] >= 1, result
        # Its heartbeats (1 s) say its clock; the same host's is within a second of the collector's.
        fleet = wait_for(lambda: (f := {f["sidecar_id"]: f for f in collector.json("GET", "/v1/fleet")})
                         and f["sc-ship"]["clock_skew_s"] is not None and f, what="a heartbeat with the sidecar's time")
        assert fleet["sc-ship"]["status"] == "ok" and fleet["sc-ship"]["agent_id"] == "agent-a"
        assert abs(fleet["sc-ship"]["clock_skew_s"]) < 1, fleet["sc-ship"]
        # Export, then verify offline with the sidecar's public key.
        env = dict(os.environ, REIN_COLLECTOR_URL=collector.url, REIN_COLLECTOR_TOKEN_FILE=collector.token_file("auditor"))
        export = tmp_path / "export.jsonl"
        p = subprocess.run([rein_bin, "audit", "export", "--sidecar", "sc-ship", "-o", str(export)], env=env,
                           capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr.decode()
        key = public_key_of(sc)
        assert fleet["sc-ship"]["public_key"] == key
        v = subprocess.run([rein_bin, "audit", "verify", "--file", str(export), "--public-key", key],
                           capture_output=True, timeout=60)
        assert v.returncode == 0, v.stdout.decode() + v.stderr.decode()
        assert b"0 findings" in v.stdout
        # The export carries the signed checkpoints, and they were checked.
        exported = export.read_text().splitlines()
        signed = [json.loads(l) for l in exported if '"schema":"rein.checkpoint/v1"' in l]
        assert signed and all(c["public_key"] == key for c in signed), exported
        assert b"sidecar sc-ship: records 1\xe2\x80\xa64, signed through" in v.stdout, v.stdout
        # A checkpoint whose signed hash is changed fails offline, as does another key.
        forged = tmp_path / "forged.jsonl"
        at = next(i for i, l in enumerate(exported) if '"schema":"rein.checkpoint/v1"' in l)
        bad = json.loads(exported[at])
        bad["hash"] = ("0" if bad["hash"][0] != "0" else "1") + bad["hash"][1:]
        forged.write_text("\n".join(exported[:at] + [json.dumps(bad, separators=(",", ":"), sort_keys=True)] + exported[at + 1:]) + "\n")
        v = subprocess.run([rein_bin, "audit", "verify", "--file", str(forged), "--public-key", key], capture_output=True, timeout=60)
        assert v.returncode == 1 and b"bad-signature" in v.stdout, v.stdout.decode()
        v = subprocess.run([rein_bin, "audit", "verify", "--file", str(export), "--public-key", "ab" * 32],
                           capture_output=True, timeout=60)
        assert v.returncode == 1 and b"unknown-key" in v.stdout, v.stdout.decode()
        # History rewritten by someone without the key (the denial turned into an allow and
        # every later record resealed) fails with the checkpoints moved above the records
        # (checked only once all records are read). With them stripped, the summary says
        # nothing is signed, and --require-signatures fails it.
        records = [l for l in exported if '"schema":"rein.checkpoint/v1"' not in l]
        checkpoints = [l for l in exported if '"schema":"rein.checkpoint/v1"' in l]
        resealed, head = [], None
        for line in records:
            old_hash = json.loads(line)["hash"]
            if head is not None:
                line = line.replace(f'"prev_hash":"{head[0]}"', f'"prev_hash":"{head[1]}"')
            line = line.replace('"decision":"deny"', '"decision":"allow"')
            body = line[:-75] + "}\n"
            digest = hashlib.sha256(body.encode()).hexdigest()
            resealed.append(line[:-75] + f',"hash":"{digest}"}}')
            head = (old_hash, digest)
        forged.write_text("\n".join(checkpoints + resealed) + "\n")
        v = subprocess.run([rein_bin, "audit", "verify", "--file", str(forged), "--public-key", key], capture_output=True, timeout=60)
        assert v.returncode == 1 and b"checkpoint-mismatch" in v.stdout, v.stdout.decode()
        forged.write_text("\n".join(resealed) + "\n")
        v = subprocess.run([rein_bin, "audit", "verify", "--file", str(forged), "--public-key", key], capture_output=True, timeout=60)
        assert v.returncode == 0 and b"no signed checkpoint" in v.stdout, v.stdout.decode()
        v = subprocess.run([rein_bin, "audit", "verify", "--file", str(forged), "--public-key", key, "--require-signatures"],
                           capture_output=True, timeout=60)
        assert v.returncode == 1 and b"unsigned" in v.stdout, v.stdout.decode()
        # A whole-trail file verifies with one key per sidecar; an empty file verifies nothing.
        v = subprocess.run([rein_bin, "audit", "verify", "--file", str(export), "--public-key", f"sc-ship={key}"],
                           capture_output=True, timeout=60)
        assert v.returncode == 0, v.stdout.decode()
        forged.write_text("")
        v = subprocess.run([rein_bin, "audit", "verify", "--file", str(forged)], capture_output=True, timeout=60)
        assert v.returncode == 1 and b"holds no audit records" in v.stderr, v.stderr.decode()
        # The same file with one decision flipped fails offline verification at that record.
        lines = export.read_text().splitlines()
        denied = next(i for i, l in enumerate(lines) if '"decision":"deny"' in l)
        sequence = json.loads(lines[denied])["sequence"]
        lines[denied] = lines[denied].replace('"decision":"deny"', '"decision":"allow"')
        export.write_text("\n".join(lines) + "\n")
        v = subprocess.run([rein_bin, "audit", "verify", "--file", str(export)], capture_output=True, timeout=60)
        assert v.returncode == 1 and b"hash-mismatch" in v.stdout and f"sequence {sequence}".encode() in v.stdout, v.stdout.decode()
        # OCSF export: API Activity events.
        q = subprocess.run([rein_bin, "audit", "query", "--sidecar", "sc-ship", "--output", "ocsf"], env=env,
                           capture_output=True, timeout=60)
        events = [json.loads(l) for l in q.stdout.decode().splitlines() if l.strip()]
        assert len(events) == 4 and all(e["class_uid"] == 6003 for e in events)
    finally:
        sc.stop()


def test_calls_aws_refused_are_recorded_and_exported_as_failures(rein_bin, moto, collector, tmp_path):
    """An allowed call that AWS refuses carries AWS's own error code in its
    record and reads as failed in both exports; an allowed call that worked
    carries no error; the export is written whole or not at all."""
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="fail-"), sidecar_id="sc-fail",
                 extra_config=link(collector.url, collector.token_file("sidecar")))
    try:
        c = s3(sc)
        c.create_bucket(Bucket="fail-1")
        with pytest.raises(ClientError) as missing:
            c.get_object(Bucket="fail-1", Key="nope")
        assert missing.value.response["Error"]["Code"] == "NoSuchKey"
        with pytest.raises(ClientError) as head:
            c.head_object(Bucket="fail-1", Key="nope")
        assert head.value.response["Error"]["Code"] == "404"
        with pytest.raises(ClientError):
            c.create_bucket(Bucket="elsewhere-fail")
        shipped = wait_for(lambda: (r := collector.records(sidecar="sc-fail")) and len(r) >= 4 and r, what="records to ship")
        records = {(r["operation"], r["decision"]): r for r in shipped}
        assert records[("GetObject", "allow")]["upstream_status"] == 404
        assert records[("GetObject", "allow")]["error_code"] == "NoSuchKey"
        assert records[("HeadObject", "allow")]["error_code"] == "404"
        assert "error_code" not in records[("CreateBucket", "allow")]
        assert records[("CreateBucket", "deny")]["error_code"] == "AccessDenied"
        env = dict(os.environ, REIN_COLLECTOR_URL=collector.url, REIN_COLLECTOR_TOKEN_FILE=collector.token_file("auditor"))
        out = tmp_path / "trail.json"
        p = subprocess.run([rein_bin, "audit", "export", "--sidecar", "sc-fail", "--format", "cloudtrail", "-o", str(out)],
                           env=env, capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr.decode()
        assert b"exported 4 records\n" in p.stderr
        events = json.loads(out.read_text())["Records"]
        by_name = {}
        for e in events:
            by_name.setdefault(e["eventName"], []).append(e)
        assert by_name["GetObject"][0]["errorCode"] == "NoSuchKey"
        assert by_name["GetObject"][0]["eventSource"] == "s3.amazonaws.com"
        assert by_name["GetObject"][0]["eventCategory"] == "Data"
        assert by_name["HeadObject"][0]["errorCode"] == "404"
        created = [e for e in by_name["CreateBucket"] if e["additionalEventData"]["rein"]["decision"] == "allow"]
        refused = [e for e in by_name["CreateBucket"] if e["additionalEventData"]["rein"]["decision"] == "deny"]
        assert created and "errorCode" not in created[0] and created[0]["eventCategory"] == "Management"
        assert refused and refused[0]["errorCode"] == "AccessDenied"
        q = subprocess.run([rein_bin, "audit", "export", "--sidecar", "sc-fail", "--format", "ocsf"], env=env,
                           capture_output=True, timeout=60)
        ocsf = {e["api"]["operation"] + str(e["unmapped"]["decision"]): e for e in map(json.loads, q.stdout.decode().splitlines())}
        assert ocsf["GetObjectallow"]["status_id"] == 2 and ocsf["GetObjectallow"]["api"]["response"]["error"] == "NoSuchKey"
        assert ocsf["CreateBucketallow"]["status_id"] == 1 and "status_detail" not in ocsf["CreateBucketallow"]
        # A file that cannot be written: exit 1, a plain reason, and nothing left behind.
        bad = tmp_path / "no-such-dir" / "x.json"
        p = subprocess.run([rein_bin, "audit", "export", "--sidecar", "sc-fail", "-o", str(bad)], env=env,
                           capture_output=True, timeout=60)
        assert p.returncode == 1 and b"cannot write" in p.stderr and b"Usage" not in p.stderr, p.stderr.decode()
        assert not (tmp_path / "no-such-dir").exists()
        # A collector that goes away mid-export leaves no file, nor a partial one.
        collector.stop()
        p = subprocess.run([rein_bin, "audit", "export", "--sidecar", "sc-fail", "-o", str(tmp_path / "late.jsonl")], env=env,
                           capture_output=True, timeout=60)
        assert p.returncode == 1 and not list(tmp_path.glob("late.jsonl*")), p.stderr.decode()
    finally:
        sc.stop()


def test_partition_keeps_serving_and_delivers_everything_once(rein_bin, moto, collector):
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="part-"), sidecar_id="sc-part",
                 extra_config=link(collector.url, collector.token_file("sidecar")))
    try:
        c = s3(sc)
        c.create_bucket(Bucket="part-1")
        wait_for(lambda: len(collector.records(sidecar="sc-part")) == 1, what="first record")
        collector.stop()
        for i in range(20):
            c.put_object(Bucket="part-1", Key=f"k{i}", Body=b"x")
        # A call's final record completes its intent just after the answer: wait for the last one.
        def spooled():
            depth = [l for l in sc.metrics().splitlines() if l.startswith("rein_audit_spool_depth_records ")]
            return depth and float(depth[0].split()[-1]) >= 20
        wait_for(spooled, timeout=10, what="the backlog in the spool")  # the backlog waits in the spool

        def metric(name):
            lines = [l for l in sc.metrics().splitlines() if l.startswith(name + " ")]
            return float(lines[0].split()[-1]) if lines else None
        # The outage shows in /metrics, not only in the log.
        wait_for(lambda: (metric("rein_audit_shipper_consecutive_failures") or 0) > 0, timeout=10, what="failures in /metrics")
        assert metric("rein_audit_shipper_registered") == 1
        collector.start()
        records = wait_for(lambda: (r := collector.records(sidecar="sc-part")) and len(r) >= 21 and r, timeout=30,
                           what="the backlog to ship")
        assert len(records) == 21 and len({r["record_id"] for r in records}) == 21
        assert sorted(r["sequence"] for r in records) == list(range(1, 22))
        assert collector.findings(sidecar="sc-part") == []
        wait_for(lambda: metric("rein_audit_shipper_consecutive_failures") == 0 and metric("rein_audit_shipped_records") >= 21,
                 timeout=10, what="the recovery in /metrics")
        assert time.time() - metric("rein_audit_shipper_last_success_timestamp_seconds") < 60
        # Idle now: rounds (heartbeats) still go through and say so.
        first = metric("rein_audit_shipper_last_contact_timestamp_seconds")
        wait_for(lambda: metric("rein_audit_shipper_last_contact_timestamp_seconds") > first, timeout=10, what="a later contact")
    finally:
        sc.stop()


def test_a_token_scoped_to_sidecar_ids_ships_only_as_those(rein_bin, moto, collector):
    """`sidecar_ids` on a token: a host outside them cannot register, ship or
    hold under it (its records wait in its spool), one inside ships as usual."""
    def metric(sc, name):
        lines = [l for l in sc.metrics().splitlines() if l.startswith(name + " ")]
        return float(lines[0].split()[-1]) if lines else None
    stray = Sidecar(rein_bin, moto.url, POLICY.format(prefix="scope-"), sidecar_id="db-1",
                    extra_config=link(collector.url, collector.token_file("sidecar-web")))
    try:
        s3(stray).create_bucket(Bucket="scope-db")
        wait_for(lambda: (metric(stray, "rein_audit_shipper_consecutive_failures") or 0) >= 2, timeout=15,
                 what="refused shipping rounds")
        assert metric(stray, "rein_audit_shipper_registered") == 0
        assert metric(stray, "rein_audit_spool_depth_records") >= 1, "the refused records must stay spooled"
        assert "may act only as sidecar ids web-*, not db-1" in stray.log_text()
        assert collector.records(sidecar="db-1") == []
        denied = [e for e in collector.records(event="access-denied") if "not db-1" in (e.get("reason") or "")]
        assert denied and denied[0]["access_key_id"] == "sidecar-web", denied
        # Nor can the token file a hold under an id outside its scope.
        status, _, body = collector.call("POST", "/v1/holds", role="sidecar-web",
                                         body={"sidecar_id": "db-1", "agent_id": "agent-a", "operation": "DeleteObject"})
        assert status == 403 and b"not db-1" in body, body
    finally:
        stray.stop()
    allowed = Sidecar(rein_bin, moto.url, POLICY.format(prefix="scope-"), sidecar_id="web-1",
                      extra_config=link(collector.url, collector.token_file("sidecar-web")))
    try:
        s3(allowed).create_bucket(Bucket="scope-web")
        records = wait_for(lambda: collector.records(sidecar="web-1"), timeout=15, what="web-1's record")
        assert records[0]["decision"] == "allow" and collector.findings(sidecar="web-1") == []
    finally:
        allowed.stop()


def test_an_agent_hanging_up_once_it_has_the_answer_finished_its_call(rein_bin, moto):
    """Clients close as soon as they have the whole answer (here a 204, read
    over a raw socket). That must not be recorded as a call cut short
    (`ClientClosed`), which exports would show as a failure; a download cut
    short still is."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="hang-"), sidecar_id="sc-hang")
    try:
        s3(sc).create_bucket(Bucket="hang-1")
        s3(sc).put_object(Bucket="hang-1", Key="big", Body=b"x" * (8 << 20))
        c = sc.credentials()
        creds = Credentials(c["AccessKeyId"], c["SecretAccessKey"], c.get("Token"))

        def raw(method, path, read_head_only):
            req = AWSRequest(method=method, url=f"{sc.url}{path}", headers={"Host": f"127.0.0.1:{sc.port}"})
            SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
            head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in req.prepare().headers.items()) + "\r\n"
            with socket.create_connection(("127.0.0.1", sc.port), timeout=10) as conn:
                conn.sendall(head.encode())
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                return data

        for i in range(100):
            assert b" 204 " in raw("DELETE", f"/hang-1/k{i}", True).split(b"\r\n")[0]
        raw("GET", "/hang-1/big", True)  # hangs up after the head of an 8 MiB answer
        def settled():
            records = sc.audit()
            deletes = [r for r in records if r.get("operation") == "DeleteObject"]
            gets = [r for r in records if r.get("operation") == "GetObject"]
            return len(deletes) == 100 and gets and (deletes, gets)
        deletes, gets = wait_for(settled, timeout=15, what="the records of every call")
        cut = [r for r in deletes if r.get("error_code")]
        assert not cut, f"{len(cut)} finished calls recorded as failed: {cut[:2]}"
        assert all(r["upstream_status"] == 204 and r["latency"].get("upstream_ms", 0) > 0 for r in deletes)
        assert gets[0].get("error_code") == "ClientClosed" and gets[0]["bytes_out"] < 8 << 20, gets[0]
    finally:
        sc.stop()


def test_a_deleted_spool_log_fails_closed_and_asks_for_a_restart(rein_bin, moto):
    """The spool's WAL deleted under the running sidecar: SQLite would go on
    writing to the unlinked file, so the sidecar refuses calls (nothing more
    reaches AWS), goes unready and unlive (a restart reloads the chain), and
    after the restart every call it answered is on record."""
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="wal-"), sidecar_id="sc-wal", fsync=True)
    try:
        c = s3(sc)
        c.create_bucket(Bucket="wal-1")
        (sc.dir / "state" / "audit-spool.db-wal").unlink()
        codes = []
        for i in range(5):
            try:
                c.put_object(Bucket="wal-1", Key=f"k{i}", Body=b"x")
                codes.append("ok")
            except ClientError as e:
                codes.append(e.response["Error"]["Code"])
        # The first write after the deletion may already be in flight; none after it passes.
        assert codes[-3:] == ["ServiceUnavailable"] * 3, codes
        answered = {f"k{i}" for i, code in enumerate(codes) if code == "ok"}
        stored = {o["Key"] for o in moto.client("s3").list_objects_v2(Bucket="wal-1").get("Contents", [])}
        assert stored == answered, (stored, answered)
        for probe in ("readyz", "healthz"):
            with pytest.raises(urllib.error.HTTPError) as answer:
                urllib.request.urlopen(f"http://127.0.0.1:{sc.admin_port}/{probe}", timeout=5)
            assert answer.value.code == 503, probe
        assert "it was deleted while the database is open" in sc.log_text()
        sc.kill9()
        sc.start()
        # Nothing shipped (no collector): every record is still in the spool.
        db = sqlite3.connect(sc.dir / "state" / "audit-spool.db")
        records = [json.loads(bytes(line)) for (line,) in db.execute("SELECT line FROM records ORDER BY seq")]
        db.close()
        assert [r["sequence"] for r in records] == list(range(1, len(records) + 1))
        for key in stored:
            assert any(r.get("operation") == "PutObject" and f"wal-1/{key}" in json.dumps(r.get("grants")) for r in records), key
    finally:
        sc.stop()


def test_a_full_spool_fails_closed(rein_bin, moto):
    dead = f"http://127.0.0.1:{free_port()}"  # no collector ever answers
    token = moto.log.name + ".token"
    with open(token, "w") as f:
        f.write("tok-nobody\n")
    os.chmod(token, 0o600)
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="cap-"), sidecar_id="sc-cap",
                 audit_config="  spool_max_bytes: 6Ki", extra_config=link(dead, token))
    try:
        c = s3(sc)
        codes = []
        for i in range(40):
            try:
                c.create_bucket(Bucket=f"cap-{i}")
                codes.append("ok")
            except ClientError as e:
                codes.append(e.response["Error"]["Code"])
                if e.response["Error"]["Code"] == "ServiceUnavailable":
                    assert "spool" in e.response["Error"]["Message"]
                    break
        assert codes[0] == "ok" and codes[-1] == "ServiceUnavailable", codes
        refused = f"cap-{len(codes) - 1}"
        assert refused not in [b["Name"] for b in moto.client("s3").list_buckets()["Buckets"]], "a refused call reached AWS"
        with pytest.raises(urllib.error.HTTPError) as ready:
            urllib.request.urlopen(f"http://127.0.0.1:{sc.admin_port}/readyz", timeout=5)
        assert ready.value.code == 503 and b"spool is full" in ready.value.read()
        # Every refusal counts, and the spool filling up is logged once, not once per request.
        for i in range(5):
            with pytest.raises(ClientError) as more:
                c.head_bucket(Bucket="cap-0")
            assert more.value.response["Error"]["Code"] in ("503", "ServiceUnavailable")
        failures = [l for l in sc.metrics().splitlines() if l.startswith('rein_audit_write_failures_total{kind="full"}')]
        assert failures and float(failures[0].split()[-1]) >= 6, failures
        assert sc.log_text().count("audit spool full") == 1, sc.log_text()[-2000:]
    finally:
        sc.stop()


def test_drop_when_full_counts_each_lost_call_once(rein_bin, moto):
    """drop_when_full (opt-in) keeps serving; each call whose record was
    dropped is counted once, not once for its intent and once more for it."""
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="drop-"), sidecar_id="sc-drop",
                 audit_config="  spool_max_bytes: 6Ki\n  drop_when_full: true")
    try:
        c = s3(sc)
        calls = 30
        for i in range(calls):
            c.create_bucket(Bucket=f"drop-{i}")
        time.sleep(0.5)  # the last call's record is sealed just after its answer
        stored = len(sc.audit())
        dropped = [l for l in sc.metrics().splitlines() if l.startswith("rein_audit_dropped_records_total")]
        assert dropped, sc.metrics()
        count = float(dropped[0].split()[-1])
        # Each call is either recorded or counted as dropped, once.
        assert count > 0 and count + stored == calls, (count, stored)
        assert "drop_when_full is set" in sc.log_text()
    finally:
        sc.stop()


def test_the_readable_copy_stays_under_its_cap(rein_bin, moto):
    """audit.jsonl, which nothing ships or deletes, moves to audit.jsonl.1 past
    audit.jsonl_max_bytes: it cannot fill the disk the spool's cap was sized
    for. With 0 there is no copy."""
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="copy-"), sidecar_id="sc-copy",
                 audit_config="  jsonl_max_bytes: 16Ki")
    try:
        c = s3(sc)
        c.create_bucket(Bucket="copy-1")
        for i in range(60):
            c.put_object(Bucket="copy-1", Key=f"k{i}", Body=b"x")
        wait_for(lambda: any("copy-1/k59" in json.dumps(r.get("grants")) for r in sc.audit()), timeout=10,
                 what="the last call's record in the copy")
        current, previous = sc.audit_path, sc.audit_path.with_name("audit.jsonl.1")
        assert current.stat().st_size <= 16 << 10 and previous.stat().st_size <= 16 << 10
        sequences = [r["sequence"] for r in sc.audit()]
        # The two files hold the newest records, in chain order, ending with the last call.
        assert sequences == list(range(sequences[0], sequences[0] + len(sequences))), sequences
        assert sequences[0] > 1, "nothing was moved aside"
        assert "audit.jsonl.1" in sc.log_text()
    finally:
        sc.stop()

    off = Sidecar(rein_bin, moto.url, POLICY.format(prefix="copy-"), sidecar_id="sc-nocopy",
                  audit_config="  jsonl_max_bytes: 0")
    try:
        s3(off).put_object(Bucket="copy-1", Key="no-copy", Body=b"x")
        assert not off.audit_path.exists()
        check = subprocess.run([rein_bin, "sidecar", "check-config", "--config", str(off.dir / "sidecar.yaml")],
                               capture_output=True, text=True, timeout=60)
        assert "audit copy off" in check.stdout, check.stdout + check.stderr
    finally:
        off.stop()


def test_sidecar_kill_9_under_load_loses_and_duplicates_nothing(rein_bin, moto, collector):
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="crash-"), sidecar_id="sc-crash9",
                 extra_config=link(collector.url, collector.token_file("sidecar")))
    try:
        moto.client("s3").create_bucket(Bucket="crash-1")
        moto.client("s3").put_object(Bucket="crash-1", Key="k", Body=b"data")
        successes = []
        stop = threading.Event()

        def load():
            c = s3(sc)
            while not stop.is_set():
                try:
                    c.get_object(Bucket="crash-1", Key="k")["Body"].read()
                    successes.append(1)
                except Exception:  # noqa: BLE001 - the sidecar is down for a moment
                    time.sleep(0.05)
                    try:  # a restarted sidecar issues new agent credentials
                        c = s3(sc)
                    except Exception:  # noqa: BLE001 - not up yet
                        pass

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: len(successes) > 100, what="load")
            sc.kill9()
            before = len(successes)
            sc.start()
            wait_for(lambda: len(successes) > before + 100, what="load after restart")
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
        local_last = wait_for(lambda: sc.wait_audit(len(successes)) and len(sc.audit()) >= len(successes) and sc.audit(),
                              what="local records")
        assert local_last
        def shipped_all():
            stats = sc.metrics()
            depth = [l for l in stats.splitlines() if l.startswith("rein_audit_spool_depth_records ")]
            return depth and float(depth[0].split()[-1]) == 0
        wait_for(shipped_all, timeout=30, what="the spool to drain")
        records = collector.records(sidecar="sc-crash9")
        ids = [r["record_id"] for r in records]
        assert len(ids) == len(set(ids)), "a record was stored twice"
        seqs = sorted(r["sequence"] for r in records)
        assert seqs == list(range(1, len(seqs) + 1)), "a record was lost"
        # An answered call whose final record the kill cut off is still there: its
        # durable intent, sealed at restart as OutcomeUnknown (docs/audit-schema.md).
        ok = [r for r in records if r["decision"] == "allow"
              and (r.get("upstream_status") == 200 or r.get("error_code") == "OutcomeUnknown")]
        assert len(ok) >= len(successes), f"{len(successes)} answered calls but {len(ok)} records"
        assert collector.findings(sidecar="sc-crash9") == []
        assert collector.json("GET", "/v1/audit/verify?sidecar=sc-crash9")["ok"] is True
    finally:
        sc.stop()


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder"])
def test_spool_tampering_is_flagged_at_the_exact_record(rein_bin, moto, collector, tamper):
    collector.stop()  # nothing ships until the spool has been tampered with
    sid = f"sc-t-{tamper}"
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="tamper-"), sidecar_id=sid,
                 extra_config=link(collector.url, collector.token_file("sidecar")))
    try:
        c = s3(sc)
        c.create_bucket(Bucket="tamper-1")
        for i in range(7):
            c.put_object(Bucket="tamper-1", Key=f"k{i}", Body=b"x")
        assert len(sc.wait_audit(8)) == 8
        sc.stop()
        db = sqlite3.connect(sc.dir / "state" / "audit-spool.db")
        if tamper == "edit":
            line = db.execute("SELECT line FROM records WHERE seq = 5").fetchone()[0]
            db.execute("UPDATE records SET line = ? WHERE seq = 5",
                       (bytes(line).replace(b'"operation":"PutObject"', b'"operation":"GetObject"'),))
            expected = {("hash-mismatch", 5)}
        elif tamper == "delete":
            db.execute("DELETE FROM records WHERE seq = 5")
            expected = {("gap", 5)}
        else:
            five, six = (db.execute("SELECT line FROM records WHERE seq = ?", (s,)).fetchone()[0] for s in (5, 6))
            db.execute("UPDATE records SET line = ? WHERE seq = 5", (six,))
            db.execute("UPDATE records SET line = ? WHERE seq = 6", (five,))
            expected = {("gap", 5), ("out-of-order", 5)}
        db.commit()
        db.close()
        collector.start()
        sc.start()
        wait_for(lambda: len(collector.records(sidecar=sid)) >= (7 if tamper == "delete" else 8), what="the spool to ship")
        found = {(f["kind"], f["sequence"]) for f in collector.findings(sidecar=sid)}
        assert found == expected
    finally:
        sc.stop()


def test_central_policy_long_poll_rollback_and_last_known_good(rein_bin, moto, collector):
    for b in ("alpha-1", "beta-1", "local-1"):
        moto.client("s3").create_bucket(Bucket=b)

    def push(prefix, message):
        return push_policy(collector, POLICY.format(prefix=prefix), message)

    push("alpha-", "alpha first")
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="local-"), sidecar_id="sc-policy",
                 extra_config=link(collector.url, collector.token_file("sidecar")))
    try:
        c = s3(sc)

        def allowed(bucket):
            try:
                c.list_objects_v2(Bucket=bucket)
                return True
            except ClientError as e:
                assert e.response["Error"]["Code"] == "AccessDenied"
                return False

        wait_for(lambda: allowed("alpha-1"), what="version 1 to apply")
        assert not allowed("local-1")  # the central policy replaced the file's
        push("beta-", "beta instead")
        wait_for(lambda: allowed("beta-1"), timeout=10, what="version 2 to apply")
        assert not allowed("alpha-1")
        status, _, _ = collector.call("POST", "/v1/policies/agent-a/rollback", role="admin",
                                      body={"version": 1, "message": "beta not ready"})
        assert status in (200, 201)
        wait_for(lambda: allowed("alpha-1"), timeout=10, what="the rollback to apply")
        # Records name the central version that decided them.
        wait_for(lambda: any(r.get("policy_version") == "3" and r["decision"] == "allow" for r in sc.audit()),
                 what="a record decided by version 3")
        assert any(r.get("policy_version") == "2" for r in sc.audit())
        # Collector down: a restarted sidecar enforces the last-known-good (version 3), not its file.
        collector.stop()
        sc.stop()
        sc.start()
        c = s3(sc)
        assert allowed("alpha-1") and not allowed("local-1")
        # A damaged last-known-good copy is not a policy: the sidecar starts from
        # its file, logs why, and takes the central version once the collector answers.
        sc.stop()
        lkg = sc.dir / "state" / "policy.last-known-good.yaml"
        lkg.write_bytes(lkg.read_bytes()[:40])
        collector.start()
        sc.start()
        c = s3(sc)
        assert "last-known-good central policy is unusable" in sc.log_text()
        wait_for(lambda: allowed("alpha-1"), timeout=10, what="the central version to apply after a damaged copy")
        assert not allowed("local-1")
    finally:
        sc.stop()


class RecordingSTS:
    """Tests/fixtures/metadata_server.py: an STS stand-in that records every form it gets."""

    def __init__(self):
        script = os.path.join(os.path.dirname(__file__), "..", "fixtures", "metadata_server.py")
        self.proc = subprocess.Popen(["python3", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode().strip()
        assert line.startswith("PORT "), line
        self.url = f"http://127.0.0.1:{line[5:]}"

    def session_policies(self):
        """The Policy of every AssumeRole so far, in order."""
        import urllib.parse
        with urllib.request.urlopen(self.url + "/_requests", timeout=5) as r:
            requests = json.loads(r.read())["requests"]
        forms = [dict(urllib.parse.parse_qsl(q["body"])) for q in requests if q["path"] == "/sts"]
        return [f.get("Policy", "") for f in forms if f.get("Action") == "AssumeRole"]

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=10)


def test_a_central_policy_version_rescopes_the_broker_session(rein_bin, moto, collector):
    """With broker.provider assume_role, the STS session policy is compiled
    from the allowlist. A version pushed centrally is enforced by Rein at once
    and AWS's session follows it without a restart: the sidecar assumes the
    role again, with the new version's session policy."""
    for b in ("alpha-1", "beta-1"):
        moto.client("s3").create_bucket(Bucket=b)

    def push(prefix, message):
        return push_policy(collector, POLICY.format(prefix=prefix), message)

    sts = RecordingSTS()
    push("alpha-", "alpha first")
    broker = f"""broker:
  provider: assume_role
  role_arn: arn:aws:iam::{ACCOUNT}:role/rein-test-role
  region: us-east-1
  sts_endpoint: {sts.url}/sts
  source:
    provider: static
    env_prefix: REIN_TEST_BROKER_
"""
    sc = Sidecar(rein_bin, moto.url, None, sidecar_id="sc-rescope", broker=broker,
                 extra_config=link(collector.url, collector.token_file("sidecar"), extra="  agent_id: agent-a\n"))
    try:
        c = s3(sc)
        c.list_objects_v2(Bucket="alpha-1")
        first = sts.session_policies()
        assert len(first) == 1 and "arn:aws:s3:::alpha-" in first[0] and "beta-" not in first[0]
        push("beta-", "beta instead")
        wait_for(lambda: len(sts.session_policies()) >= 2, timeout=10, what="a new AssumeRole for version 2")
        policies = sts.session_policies()
        assert "arn:aws:s3:::beta-" in policies[-1] and "alpha-" not in policies[-1]
        c.list_objects_v2(Bucket="beta-1")
        with pytest.raises(ClientError) as denied:
            c.list_objects_v2(Bucket="alpha-1")
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        assert "fetching broker credentials scoped to it" in sc.log_text()
        assert len(sts.session_policies()) == 2, "one AssumeRole per version, not one per call"
    finally:
        sc.stop()
        sts.stop()


def _cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_no_central_policy_yet_is_waited_for_not_asked_in_a_loop(rein_bin, moto, collector):
    """An agent with nothing pushed yet: the sidecar enforces its file and
    long-polls for the first version (it used to ask in a tight loop, a core
    of the collector per sidecar); the first push applies at once."""
    moto.client("s3").create_bucket(Bucket="first-1")
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="local-"), sidecar_id="sc-first",
                 extra_config=link(collector.url, collector.token_file("sidecar")))
    try:
        time.sleep(1)
        before = _cpu_seconds(collector.proc.pid)
        time.sleep(3)
        used = _cpu_seconds(collector.proc.pid) - before
        assert used < 0.6, f"the collector spent {used:.2f} s of CPU in 3 s on one idle sidecar"
        push_policy(collector, POLICY.format(prefix="first-"), "first")
        pushed = time.time()
        c = s3(sc)

        def allowed():
            try:
                c.list_objects_v2(Bucket="first-1")
                return True
            except ClientError:
                return False
        wait_for(allowed, timeout=10, what="the first version to apply")
        assert time.time() - pushed < 5, "the first push must reach a waiting sidecar promptly"
    finally:
        sc.stop()


def test_a_central_version_whose_task_ended_denies_everything(rein_bin, moto, collector):
    """The current central version's task window ends while a sidecar is
    away: when it comes back it applies that version (every call denied,
    not ready), never the older, looser one it had."""
    moto.client("s3").create_bucket(Bucket="ok-1")
    push = lambda document, message: push_policy(collector, document, message)  # noqa: E731
    push(POLICY.format(prefix="ok-"), "open")
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="local-"), sidecar_id="sc-ended",
                 extra_config=link(collector.url, collector.token_file("sidecar")))
    try:
        wait_for(lambda: (sc.dir / "state" / "policy.last-known-good.yaml").exists(), what="version 1 to apply")
        sc.stop()
        ends = time.gmtime(time.time() + 4)
        short = POLICY.format(prefix="ok-").replace("notAfter: 2027-12-31T00:00:00Z", "notAfter: " + time.strftime("%Y-%m-%dT%H:%M:%SZ", ends))
        assert short != POLICY.format(prefix="ok-")
        push(short, "task cut short")
        time.sleep(5)
        sc.start(ready=False)  # not ready: its task ended

        def refused():
            try:
                sc.credentials()
                return False
            except urllib.error.HTTPError as e:
                return e.code == 403 and b"TaskExpired" in e.read()
        # Version 2 applies: no credentials for the agent, so no call at all
        # (under version 1 they would still be issued and calls allowed).
        wait_for(refused, timeout=10, what="version 2 (ended) to apply")
        with pytest.raises(urllib.error.HTTPError) as ready:
            urllib.request.urlopen(f"http://127.0.0.1:{sc.admin_port}/readyz", timeout=5)
        assert b"the task policy expired" in ready.value.read()
        fleet = lambda: {f["sidecar_id"]: f for f in collector.json("GET", "/v1/fleet")}.get("sc-ended", {})
        wait_for(lambda: fleet().get("policy_version") == "2" and fleet().get("status") == "not-ready", timeout=10,
                 what="the fleet to show version 2, not ready")
    finally:
        sc.stop()


def test_a_task_that_has_not_begun_is_not_ready(rein_bin, moto):
    """A policy whose window starts later (pushed ahead of its task) denies
    every call until then, and /readyz says why."""
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    policy = POLICY.format(prefix="later-").replace("notBefore: 2026-01-01T00:00:00Z", "notBefore: " + later)
    assert later in policy
    sc = Sidecar(rein_bin, moto.url, policy, sidecar_id="sc-later", ready=False)
    try:
        with pytest.raises(urllib.error.HTTPError) as ready:
            urllib.request.urlopen(f"http://127.0.0.1:{sc.admin_port}/readyz", timeout=5)
        assert ready.value.code == 503 and b"the task policy does not start until" in ready.value.read()
    finally:
        sc.stop()


def test_a_collector_only_sidecar_keeps_the_version_it_started_with(rein_bin, moto, collector):
    """No policy_file: the version fetched at start is kept as last-known-good
    at once, so the sidecar restarts with it while the collector is down."""
    moto.client("s3").create_bucket(Bucket="kept-1")
    push_policy(collector, POLICY.format(prefix="kept-"), "only")
    sc = Sidecar(rein_bin, moto.url, None, sidecar_id="sc-kept",
                 extra_config=link(collector.url, collector.token_file("sidecar"), extra="  agent_id: agent-a\n"))
    try:
        lkg = sc.dir / "state" / "policy.last-known-good.yaml"
        assert lkg.exists() and (sc.dir / "state" / "policy.last-known-good.yaml.version").read_text().strip() == "1"
        sc.stop()
        collector.stop()
        sc.start()
        s3(sc).list_objects_v2(Bucket="kept-1")
        assert "starting from the last-known-good central policy" in sc.log_text()
    finally:
        sc.stop()
    # A policy file for one agent and collector.agent_id naming another: said at start, not guessed.
    with pytest.raises(RuntimeError) as start:
        Sidecar(rein_bin, moto.url, POLICY.format(prefix="kept-"), sidecar_id="sc-two",
                extra_config=link(collector.url, collector.token_file("sidecar"), extra="  agent_id: agent-b\n"))
    assert "collector.agent_id is agent-b, but the policy" in str(start.value), str(start.value)[-2000:]


def make_certificate(tmp_path):
    """A P-256 CA and a leaf for 127.0.0.1, made with the openssl CLI."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=tmp_path)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
        "-out", "ca.pem", "-days", "2", "-subj", "/CN=rein test collector CA")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key",
        "-out", "leaf.csr", "-subj", "/CN=127.0.0.1")
    (tmp_path / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "ext.cnf", "-out", "leaf.pem")
    os.chmod(tmp_path / "leaf.key", 0o600)
    return str(tmp_path / "leaf.pem"), str(tmp_path / "leaf.key"), str(tmp_path / "ca.pem")


def test_the_collector_serves_tls_and_the_sidecar_ships_over_it(rein_bin, moto, tmp_path):
    cert, key, ca = make_certificate(tmp_path)
    # A server key others can read is refused, as every other secret file.
    os.chmod(key, 0o644)
    with pytest.raises(RuntimeError) as refused:
        Collector(rein_bin, tls=(cert, key, ca))
    assert "tls.key" in str(refused.value) and "chmod 600" in str(refused.value), str(refused.value)[-500:]
    os.chmod(key, 0o600)
    collector = Collector(rein_bin, tls=(cert, key, ca))
    try:
        assert collector.url.startswith("https://")
        # curl with the CA: TLS 1.2 and 1.3 both work; without the CA it fails verification.
        for version in ("--tlsv1.2", "--tlsv1.3"):
            p = subprocess.run(["curl", "-sS", version, "--cacert", ca, collector.url + "/healthz"], capture_output=True, timeout=30)
            assert p.returncode == 0, p.stderr.decode()
        p = subprocess.run(["curl", "-sS", collector.url + "/healthz"], capture_output=True, timeout=30)
        assert p.returncode != 0
        # Plain HTTP to the TLS port gets nothing useful.
        p = subprocess.run(["curl", "-sS", "-m", "5", collector.url.replace("https", "http") + "/healthz"], capture_output=True, timeout=30)
        assert p.returncode != 0
        sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="tls-"), sidecar_id="sc-tls",
                     extra_config=link(collector.url, collector.token_file("sidecar"), f"  ca_file: {ca}\n"))
        try:
            s3(sc).create_bucket(Bucket="tls-1")
            records = wait_for(lambda: collector.records(sidecar="sc-tls"), what="records over TLS")
            assert records[0]["operation"] == "CreateBucket"
            env = dict(os.environ, REIN_COLLECTOR_URL=collector.url, REIN_COLLECTOR_TOKEN_FILE=collector.token_file("auditor"),
                       REIN_COLLECTOR_CA_FILE=ca)
            q = subprocess.run([rein_bin, "audit", "query", "--sidecar", "sc-tls"], env=env, capture_output=True, timeout=60)
            assert q.returncode == 0 and b"CreateBucket" in q.stdout, q.stderr.decode()
            # Without the CA: a trust problem, said as one (not "cannot connect").
            del env["REIN_COLLECTOR_CA_FILE"]
            q = subprocess.run([rein_bin, "audit", "query", "--sidecar", "sc-tls"], env=env, capture_output=True, timeout=60)
            assert q.returncode == 1 and b"TLS certificate is not trusted by the system's CA store" in q.stderr, q.stderr.decode()
        finally:
            sc.stop()
    finally:
        collector.stop()


def test_sighup_revokes_a_token_and_a_renewed_certificate_is_served(rein_bin, moto, tmp_path):
    """A leaked token is revoked, and a renewed certificate served, without
    restarting the collector: SIGHUP reads the configuration again. A sidecar
    shipping meanwhile loses nothing; a configuration that does not load
    changes nothing."""
    import shutil
    import ssl
    pairs = []
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        pairs.append(make_certificate(tmp_path / name))
    (first_cert, first_key, first_ca), (second_cert, second_key, second_ca) = pairs
    cert, key, both_cas = tmp_path / "tls.pem", tmp_path / "tls.key", tmp_path / "cas.pem"
    shutil.copy(first_cert, cert)
    shutil.copy(first_key, key)
    os.chmod(key, 0o600)
    both_cas.write_text(open(first_ca).read() + open(second_ca).read())
    collector = Collector(rein_bin, tls=(str(cert), str(key), str(both_cas)))
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="hup-"), sidecar_id="sc-hup",
                 extra_config=link(collector.url, collector.token_file("sidecar"), f"  ca_file: {both_cas}\n"))
    try:
        c = s3(sc)
        c.create_bucket(Bucket="hup-1")
        assert collector.call("GET", "/v1/fleet", role="auditor")[0] == 200

        def served():
            pem = ssl.get_server_certificate(("127.0.0.1", collector.port))
            return ssl.PEM_cert_to_DER_cert(pem)
        assert served() == ssl.PEM_cert_to_DER_cert(open(first_cert).read())

        # Carol's auditor token leaked: the file no longer lists it; Dave's is new.
        dave = "tok-auditor-dave-0123456789abcdef"
        text = collector.config_path.read_text()
        carol = f"  - name: carol\n    roles: [auditor]\n    sha256: {hashlib.sha256(b'tok-auditor-0123456789abcdef').hexdigest()}\n"
        assert carol in text
        text = text.replace(carol, f"  - name: dave\n    roles: [auditor]\n    sha256: {hashlib.sha256(dave.encode()).hexdigest()}\n")
        collector.config_path.write_text(text)
        # The renewal: a new key and certificate, renamed into place.
        shutil.copy(second_cert, str(cert) + ".new")
        shutil.copy(second_key, str(key) + ".new")
        os.chmod(str(key) + ".new", 0o600)
        os.rename(str(cert) + ".new", cert)
        os.rename(str(key) + ".new", key)
        collector.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: collector.call("GET", "/v1/fleet", role="auditor")[0] == 401, timeout=10, what="carol's token to be revoked")

        def as_dave(path):
            req = urllib.request.Request(collector.url + path, headers={"Authorization": f"Bearer {dave}"})
            with urllib.request.urlopen(req, timeout=30, context=collector.ssl_context()) as r:
                return r.status, r.read()
        assert as_dave("/v1/fleet")[0] == 200
        assert served() == ssl.PEM_cert_to_DER_cert(open(second_cert).read())
        log = collector.log_text()
        assert "API tokens reloaded from the configuration" in log and "added dave; removed carol" in log
        assert "TLS certificate loaded" in log
        assert "tok-auditor-0123456789abcdef" not in log and dave not in log
        # The revocation is in the collector's own chain, by name.
        status, body = as_dave("/v1/audit/records?event=token-change")
        events = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        assert status == 200 and len(events) == 1
        assert events[0]["reason"].endswith("added dave; removed carol") and events[0]["access_key_id"] == "configuration-reload"

        # A configuration that does not load: nothing changes, and the log says why.
        collector.config_path.write_text(text.replace("tokens:", "tokens: [", 1))
        collector.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "the configuration was not reloaded, nothing changed" in collector.log_text(), timeout=10,
                 what="the refused reload to be logged")
        assert as_dave("/v1/fleet")[0] == 200 and collector.proc.poll() is None

        # The sidecar shipped across all of it: every call is there once.
        c.put_object(Bucket="hup-1", Key="after", Body=b"x")

        def shipped():
            lines = as_dave("/v1/audit/records?sidecar=sc-hup")[1].decode().splitlines()
            return [json.loads(line)["operation"] for line in lines if line.strip()]
        wait_for(lambda: "PutObject" in shipped(), what="the call after the reload")
        assert shipped() == ["CreateBucket", "PutObject"]
    finally:
        sc.stop()
        collector.stop()


def test_a_sidecar_token_rotates_without_a_restart(rein_bin, moto, collector):
    """The collector takes the new token (SIGHUP), the sidecar's token file is
    replaced (a Kubernetes Secret), the old token is removed (SIGHUP): the
    sidecar ships throughout, restarts nothing, and is never refused."""
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="rot-"), sidecar_id="sc-rot",
                 extra_config=link(collector.url, collector.token_file("sidecar")))
    try:
        c = s3(sc)
        c.create_bucket(Bucket="rot-1")
        wait_for(lambda: collector.records(sidecar="sc-rot"), what="the first record")
        old_block = (f"  - name: sidecar-a\n    roles: [sidecar]\n    sha256: {hashlib.sha256(b'tok-sidecar-0123456789abcdef').hexdigest()}\n"
                     "    agents: [agent-a]\n")
        new_token = "tok-sidecar-rotated-0123456789abcdef"
        new_block = (f"  - name: sidecar-a-2\n    roles: [sidecar]\n    sha256: {hashlib.sha256(new_token.encode()).hexdigest()}\n"
                     "    agents: [agent-a]\n")
        text = collector.config_path.read_text()
        assert old_block in text
        collector.config_path.write_text(text.replace(old_block, old_block + new_block))
        collector.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "added sidecar-a-2" in collector.log_text(), timeout=10, what="the new token")
        token_file = collector.token_file("sidecar")
        with open(token_file + ".new", "w") as f:
            f.write(new_token + "\n")
        os.chmod(token_file + ".new", 0o600)
        os.rename(token_file + ".new", token_file)
        c.put_object(Bucket="rot-1", Key="during", Body=b"x")
        wait_for(lambda: len(collector.records(sidecar="sc-rot")) >= 2, what="a record shipped with the new token")
        collector.config_path.write_text(collector.config_path.read_text().replace(old_block, ""))
        collector.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "removed sidecar-a" in collector.log_text(), timeout=10, what="the old token's removal")
        c.put_object(Bucket="rot-1", Key="after", Body=b"x")
        wait_for(lambda: len(collector.records(sidecar="sc-rot")) >= 3, what="a record shipped after the old token went")
        assert [r["operation"] for r in collector.records(sidecar="sc-rot")] == ["CreateBucket", "PutObject", "PutObject"]
        assert not collector.records(event="access-denied"), "the sidecar was never refused"
        fleet = {f["sidecar_id"]: f for f in collector.json("GET", "/v1/fleet")}
        assert fleet["sc-rot"]["status"] == "ok"
        assert sc.proc.poll() is None and new_token not in sc.log_text()
    finally:
        sc.stop()


def test_a_lost_spool_is_said_at_start(rein_bin, moto):
    """A sidecar whose spool is gone but whose key is not restarts its chain
    at 1: it says so, once, instead of leaving the collector's findings to
    explain it."""
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="lost-"), sidecar_id="sc-lost")
    try:
        s3(sc).create_bucket(Bucket="lost-1")
        sc.wait_audit(1)
        sc.stop()
        assert "the audit spool is new but the signing key is not" not in sc.log_text()
        for f in (sc.dir / "state").glob("audit-spool.db*"):
            f.unlink()
        sc.start()
        assert sc.log_text().count("the audit spool is new but the signing key is not") == 1
    finally:
        sc.stop()


CPU_LATENCY_DEVICE = "/dev/cpu_dma_latency"


def cpu_latency_limit():
    """The machine-wide CPU latency limit in µs, as the kernel reports it."""
    with open(CPU_LATENCY_DEVICE, "rb") as f:
        return struct.unpack("i", f.read(4))[0]


def metric(text, name):
    lines = [l for l in text.splitlines() if l.startswith(name + " ")]
    return float(lines[0].split()[-1]) if lines else None


@pytest.mark.skipif(not os.access(CPU_LATENCY_DEVICE, os.W_OK), reason="needs write access to /dev/cpu_dma_latency")
def test_cpu_latency_qos_is_held_while_calls_arrive(rein_bin, moto):
    """cpu_latency_qos (opt-in): the real sidecar makes the kernel's CPU
    latency limit 0 while boto3 calls arrive, lets it go after a second
    without calls, and says so in its log and metrics."""
    before = cpu_latency_limit()
    sc = Sidecar(rein_bin, moto.url, POLICY.format(prefix="qos-"), sidecar_id="sc-qos", fsync=True,
                 extra_config="cpu_latency_qos: true")
    try:
        assert "cpu_latency_qos is set" in sc.log_text()
        # Idle since start: let go after 1 s.
        wait_for(lambda: metric(sc.metrics(), "rein_cpu_latency_qos_held") == 0, timeout=10, what="the request let go while idle")
        if before != 0:  # another process may hold a request of its own
            assert cpu_latency_limit() == before
        c = s3(sc)
        c.create_bucket(Bucket="qos-1")
        c.put_object(Bucket="qos-1", Key="k", Body=b"x")
        text = sc.metrics()
        assert metric(text, "rein_cpu_latency_qos_held") == 1, text
        assert metric(text, "rein_cpu_latency_qos_requests_made") == 2, text
        assert cpu_latency_limit() == 0
        assert len(sc.wait_audit(2)) >= 2
    finally:
        sc.stop()
    if before != 0:
        wait_for(lambda: cpu_latency_limit() == before, timeout=5, what="the limit restored after the sidecar stopped")
