"""`backup.copy_to`: the collector copies its own backups to S3 (moto's
server on 127.0.0.1 stands in for it), signed with SigV4 over each part's
SHA-256 through libcurl.

What must hold: every file of the backup arrives byte for byte, a copy
downloaded again passes `rein collector restore --check`, files larger than
a part go up as a multipart upload, a failed copy keeps the local backup,
is logged, counted and alerted and is made at the next start, and a file
damaged after the backup never completes a backup in S3 (no backup.json
there, no multipart upload left open).
"""

import base64
import hashlib
import json
import subprocess
import time

import pytest

from collector_harness import Collector, ScriptedChain, ship
from sidecar_harness import clean_env, wait_for
from webhook_receiver import Webhook

BUCKET = "rein-evidence"
PREFIX = "prod/collector-a"
KEY_ENV = {"REIN_TEST_BACKUP_ACCESS_KEY_ID": "AKIDBACKUPEXAMPLE", "REIN_TEST_BACKUP_SECRET_ACCESS_KEY": "backup-secret-example"}


def copy_config(moto, backups, interval="1h", extra=""):
    return f"""backup:
  dir: {backups}
  interval: {interval}
  keep: 2
  copy_to:
    url: s3://{BUCKET}/{PREFIX}/
    region: us-east-1
    endpoint_url: {moto.url}
    part_size: 5MiB
    credentials:
      provider: static
      env_prefix: REIN_TEST_BACKUP_
{extra}"""


def rein(rein_bin, collector, *args, timeout=120):
    env = clean_env()
    env.update(KEY_ENV)
    return subprocess.run([rein_bin, "collector", *args, "--config", str(collector.config_path)], env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def s3(moto):
    moto.reset()
    return moto.client("s3")


def objects(s3, prefix=PREFIX):
    answer = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")
    return {o["Key"]: o for o in answer.get("Contents", [])}


def download(s3, keys, into):
    into.mkdir()
    for key in keys:
        (into / key.rsplit("/", 1)[1]).write_bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    return into


def test_scheduled_backups_are_copied_whole_and_the_copy_restores(rein_bin, moto, s3, tmp_path):
    s3.create_bucket(Bucket=BUCKET)
    backups = tmp_path / "backups"
    c = Collector(rein_bin, extra_config=copy_config(moto, backups), extra_env=KEY_ENV)
    try:
        r = rein(rein_bin, c, "check-config")
        assert r.returncode == 0, r.stdout + r.stderr
        assert (f"each copied to s3://{BUCKET}/{PREFIX}/ (us-east-1 via {moto.url}; the bucket's default encryption; "
                "credentials: static)") in r.stdout
        wait_for(lambda: list(backups.glob("rein-backup-*/copy.json")), timeout=60, what="the first backup's copy")
        [taken] = [p.parent for p in backups.glob("rein-backup-*/copy.json")]
        receipt = json.loads((taken / "copy.json").read_text())
        manifest = json.loads((taken / "backup.json").read_text())
        in_s3 = objects(s3)
        names = sorted(f["name"] for f in manifest["files"]) + ["backup.json"]
        assert sorted(k.rsplit("/", 1)[1] for k in in_s3) == sorted(names)
        assert all(k.startswith(f"{PREFIX}/{taken.name}/") for k in in_s3)
        assert receipt["destination"] == f"s3://{BUCKET}/{PREFIX}/"
        assert [o["key"].rsplit("/", 1)[1] for o in receipt["objects"]][-1] == "backup.json"
        copy = download(s3, in_s3, tmp_path / "downloaded")
        for name in names:
            assert (copy / name).read_bytes() == (taken / name).read_bytes(), name
        # S3 keeps the manifest's digest with each object that went up in one PUT.
        head = s3.head_object(Bucket=BUCKET, Key=f"{PREFIX}/{taken.name}/collector.sqlite", ChecksumMode="ENABLED")
        store = next(f for f in manifest["files"] if f["name"] == "collector.sqlite")
        assert head.get("ChecksumSHA256") == base64.b64encode(bytes.fromhex(store["sha256"])).decode(), head
        for checked in (copy, taken):  # the downloaded copy, and the local backup with its receipt beside it
            r = rein(rein_bin, c, "restore", "--check", str(checked))
            assert r.returncode == 0, r.stdout + r.stderr
            assert "every file matches backup.json" in r.stdout
        assert "backup copied" in c.log_text()
        status, _, data = c.call("GET", "/metrics", role="metrics")
        assert status == 200
        text = data.decode()
        assert 'rein_collector_backup_copies_total{result="success"} 1' in text, text
        assert "rein_collector_backup_copy_last_success_timestamp_seconds" in text
        # The credentials never reach the log.
        assert KEY_ENV["REIN_TEST_BACKUP_SECRET_ACCESS_KEY"] not in c.log_text()
        # A restart with the newest backup copied copies nothing again.
        c.stop()
        c.start()
        ship_some(c, "sc-after", 3)
        time.sleep(1)  # the job looks at the newest backup as it starts: a copy would be logged by now
        assert c.log_text().count("backup copied") == 1
    finally:
        c.stop()


def ship_some(c, sidecar, count, per_batch=1000):
    chain = ScriptedChain(sidecar)
    while count > 0:
        n = min(per_batch, count)
        status, body = ship(c, sidecar, [chain.seal(user_agent="x" * 900) for _ in range(n)])
        assert status == 200, body
        count -= n


@pytest.fixture
def large_store(rein_bin, moto, s3, tmp_path):
    """A collector whose store is larger than a 5 MiB part (8,000 records), with the bucket made."""
    s3.create_bucket(Bucket=BUCKET)
    c = Collector(rein_bin, extra_config=copy_config(moto, tmp_path / "backups", interval="1d"), extra_env=KEY_ENV)
    try:
        ship_some(c, "sc-big", 8000)
        yield c
    finally:
        c.stop()


def test_a_store_larger_than_a_part_goes_up_in_parts_from_the_cli(rein_bin, s3, large_store, tmp_path):
    c = large_store
    target = tmp_path / "by-hand"
    r = rein(rein_bin, c, "backup", str(target), "--copy")
    assert r.returncode == 0, r.stdout + r.stderr
    store = target / "collector.sqlite"
    assert store.stat().st_size > 5 << 20, store.stat().st_size
    key = f"{PREFIX}/by-hand/collector.sqlite"
    assert f"s3://{BUCKET}/{key}" in r.stdout
    assert "collector.sqlite: copied" in r.stderr
    head = s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    parts = -(-store.stat().st_size // (5 << 20))
    assert head["ETag"].strip('"').endswith(f"-{parts}"), head["ETag"]
    # Each part went up with its SHA-256 (Object Lock buckets require a checksum on every part): S3 keeps
    # the composite, the SHA-256 of the parts' digests.
    data = store.read_bytes()
    digests = b"".join(hashlib.sha256(data[i:i + (5 << 20)]).digest() for i in range(0, len(data), 5 << 20))
    assert head.get("ChecksumSHA256", "").split("-")[0] == base64.b64encode(hashlib.sha256(digests).digest()).decode(), head
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == store.read_bytes()
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    # Only the copy, of a backup already whole, with --copy on its directory.
    s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/by-hand/backup.json")
    r = rein(rein_bin, c, "backup", str(target), "--copy")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "taken at" not in r.stdout
    assert f"{PREFIX}/by-hand/backup.json" in objects(s3)


def test_a_failed_copy_keeps_the_backup_is_alerted_and_is_made_at_the_next_start(rein_bin, moto, s3, tmp_path):
    backups = tmp_path / "backups"
    hook = Webhook()
    c = Collector(rein_bin, extra_config=copy_config(moto, backups, extra=f"alerts:\n  webhook_url: {hook.url}\n"), extra_env=KEY_ENV)
    try:
        wait_for(lambda: "copying a backup failed" in c.log_text(), timeout=60, what="the failed copy")
        [taken] = [p.parent for p in backups.glob("rein-backup-*/backup.json")]
        assert not (taken / "copy.json").exists()
        assert "NoSuchBucket" in c.log_text() and "check backup.copy_to.url" in c.log_text()
        wait_for(lambda: any(m.get("rein", {}).get("alert") == "backup-copy" for _, m in hook.posts), timeout=30, what="the alert")
        alert = next(m for _, m in hook.posts if m.get("rein", {}).get("alert") == "backup-copy")
        assert alert["rein"]["backup"] == taken.name and alert["rein"]["destination"] == f"s3://{BUCKET}/{PREFIX}/"
        status, _, data = c.call("GET", "/metrics", role="metrics")
        assert 'rein_collector_backup_copies_total{result="failure"} 1' in data.decode()
        s3.create_bucket(Bucket=BUCKET)
        c.stop()
        c.start()
        wait_for(lambda: (taken / "copy.json").exists(), timeout=60, what="the copy at the next start")
        assert f"{PREFIX}/{taken.name}/backup.json" in objects(s3)
        assert [p.name for p in backups.iterdir()] == [taken.name]
    finally:
        c.stop()
        hook.stop()


def test_a_file_damaged_after_the_backup_never_completes_a_backup_in_s3(rein_bin, s3, large_store, tmp_path):
    c = large_store
    target = tmp_path / "damaged"
    r = rein(rein_bin, c, "backup", str(target))
    assert r.returncode == 0, r.stdout + r.stderr
    # One byte flipped, size unchanged, in the multipart store and, separately, in a single-PUT file.
    store = target / "collector.sqlite"
    data = bytearray(store.read_bytes())
    data[len(data) - 100] ^= 0xFF
    store.write_bytes(bytes(data))
    r = rein(rein_bin, c, "backup", str(target), "--copy")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "collector.sqlite is not the file the backup recorded" in r.stderr, r.stderr
    assert objects(s3, f"{PREFIX}/damaged") == {}
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    data[len(data) - 100] ^= 0xFF
    store.write_bytes(bytes(data))
    holds = target / "holds.sqlite"
    raw = bytearray(holds.read_bytes())
    raw[-1] ^= 0xFF
    holds.write_bytes(bytes(raw))
    r = rein(rein_bin, c, "backup", str(target), "--copy")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "holds.sqlite is not the file the backup recorded" in r.stderr, r.stderr
    assert f"{PREFIX}/damaged/backup.json" not in objects(s3)
    assert not (target / "copy.json").exists()


def test_a_copy_in_s3_restores_and_one_changed_there_is_refused(rein_bin, s3, large_store, tmp_path):
    """The restore drill: `rein collector restore [--check] s3://…` downloads a
    copy a range at a time and proves every file against backup.json; a file
    replaced in the bucket, or a manifest naming a path outside the download,
    restores nothing and leaves nothing behind."""
    c = large_store
    # An object's bytes are data: a record holding S3's error document must not read as an error on the way back.
    planted = ScriptedChain("sc-planted")
    status, body = ship(c, "sc-planted", [planted.seal(user_agent="<Error><Code>NoSuchKey</Code><Message>planted</Message></Error>")])
    assert status == 200, body
    local = tmp_path / "by-hand"
    r = rein(rein_bin, c, "backup", str(local), "--copy")
    assert r.returncode == 0, r.stdout + r.stderr
    source = f"s3://{BUCKET}/{PREFIX}/by-hand"
    fetched = tmp_path / "fetched"
    r = rein(rein_bin, c, "restore", "--check", source, "--download-to", str(fetched))
    assert r.returncode == 0, r.stdout + r.stderr
    assert b"<Error><Code>NoSuchKey</Code>" in (local / "collector.sqlite").read_bytes()
    assert f"downloaded {source}" in r.stdout and "every file matches backup.json" in r.stdout
    assert "collector.sqlite: 8.0 MiB of about" in r.stderr  # more than one range
    for name in ("collector.sqlite", "holds.sqlite", "collector-signing.key", "backup.json"):
        assert (fetched / name).read_bytes() == (local / name).read_bytes(), name
    assert oct((fetched / "collector-signing.key").stat().st_mode & 0o777) == "0o600"

    holds_key = f"{PREFIX}/by-hand/holds.sqlite"
    original = s3.get_object(Bucket=BUCKET, Key=holds_key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=holds_key, Body=original[:-1] + bytes([original[-1] ^ 0xFF]))
    changed = tmp_path / "changed"
    r = rein(rein_bin, c, "restore", "--check", source, "--download-to", str(changed))
    assert r.returncode == 1 and "holds.sqlite is not the file the backup recorded" in r.stderr, r.stderr
    assert not changed.exists()
    s3.put_object(Bucket=BUCKET, Key=holds_key, Body=original)

    manifest = json.loads((local / "backup.json").read_text())
    manifest["files"][0]["name"] = "../escaped"
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/evil/backup.json", Body=json.dumps(manifest).encode())
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/../escaped", Body=b"x")
    evil = tmp_path / "evil" / "inner"
    r = rein(rein_bin, c, "restore", "--check", f"s3://{BUCKET}/{PREFIX}/evil", "--download-to", str(evil))
    assert r.returncode == 1 and "is not a plain name" in r.stderr, r.stderr
    assert not (tmp_path / "evil" / "escaped").exists() and not evil.exists()

    # The restore itself, with the collector stopped: everything it held comes back and verifies.
    c.stop()
    r = rein(rein_bin, c, "restore", source)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "restored the backup taken at" in r.stdout
    # Without --download-to, beside the collector's own backups (backup.dir), and kept there.
    assert (tmp_path / "backups" / "downloaded-by-hand" / "backup.json").exists()
    assert f"into {tmp_path / 'backups' / 'downloaded-by-hand'}" in r.stdout
    c.start()
    status, _, data = c.call("GET", "/v1/audit/verify?sidecar=sc-big")
    assert status == 200 and json.loads(data)["findings"] == [] and json.loads(data)["records"] == 8000, data


def test_an_s3_compatible_store_with_a_private_ca_is_trusted_only_with_ca_file(rein_bin, tmp_path):
    """`endpoint_url` over https to a store whose certificate chains to a
    private CA: refused against the system store, copied with `ca_file`."""
    import ssl
    import boto3
    from sidecar_harness import free_port, wait_http
    from test_audit_sidecar import make_certificate
    certs = tmp_path / "certs"
    certs.mkdir()
    leaf, key, ca = make_certificate(certs)
    port = free_port()
    log = open(tmp_path / "moto-tls.log", "wb")
    proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port), "-s", "-c", leaf, "-k", key],
                            stdout=log, stderr=subprocess.STDOUT, env=clean_env())
    url = f"https://127.0.0.1:{port}"
    c = None
    try:
        wait_http(url + "/moto-api/", context=ssl.create_default_context(cafile=ca), process=proc)
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=url, verify=ca,
                          aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
        s3.create_bucket(Bucket=BUCKET)

        class Endpoint:  # copy_config takes the endpoint from a moto-like object
            pass
        endpoint = Endpoint()
        endpoint.url = url
        c = Collector(rein_bin, extra_config=copy_config(endpoint, tmp_path / "backups", interval="1d"), extra_env=KEY_ENV)
        r = rein(rein_bin, c, "backup", str(tmp_path / "untrusted"), "--copy")
        assert r.returncode == 1 and "copying it to" in r.stderr, r.stdout + r.stderr
        assert objects(s3) == {}
        c.config_path.write_text(c.config_path.read_text().replace(f"    endpoint_url: {url}\n",
                                                                   f"    endpoint_url: {url}\n    ca_file: {ca}\n"))
        r = rein(rein_bin, c, "check-config")
        assert r.returncode == 0, r.stdout + r.stderr
        r = rein(rein_bin, c, "backup", str(tmp_path / "untrusted"), "--copy")
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"{PREFIX}/untrusted/backup.json" in objects(s3)
    finally:
        if c:
            c.stop()
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
