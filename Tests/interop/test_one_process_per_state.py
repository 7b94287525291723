"""One process per state directory, against real `rein sidecar` and `rein
collector` processes: a second copy started on a state directory that is in
use (an operator's slip, a unit started twice, two pods on one volume) is
refused before it reads anything, names the process holding it, and the
first goes on with its chain whole. Once the first has stopped, the same
state directory starts again.

Clients are boto3 through the sidecar; upstream is moto; all on 127.0.0.1.
"""

import subprocess

from collector_harness import ScriptedChain, ship
from sidecar_harness import Sidecar, clean_env, free_port, wait_for
from test_audit_sidecar import POLICY, link, s3


def second_copy(path, ports):
    """The configuration at `path` with each of `ports` moved to a free one: the same state_dir."""
    text = path.read_text()
    for port in ports:
        text = text.replace(f"127.0.0.1:{port}\n", f"127.0.0.1:{free_port()}\n")
    copy = path.with_name("second-" + path.name)
    copy.write_text(text)
    return copy


def test_a_second_sidecar_on_one_state_dir_is_refused_and_the_first_keeps_its_chain(rein_bin, moto, collector):
    first = Sidecar(rein_bin, moto.url, POLICY.format(prefix="one-"), sidecar_id="sc-one",
                    extra_config=link(collector.url, collector.token_file("sidecar")))
    try:
        client = s3(first)
        client.create_bucket(Bucket="one-1")
        config = second_copy(first.dir / "sidecar.yaml", (first.port, first.admin_port, first.creds_port))
        env_file = first.dir / "second.env"
        # The same configuration, and one whose spool is elsewhere: the state directory (signing key,
        # CA, agent token and credentials) is shared all the same.
        other_spool = config.with_name("other-spool.yaml")
        other_spool.write_text(config.read_text().replace("audit:\n", f"audit:\n  spool_path: {first.dir / 'other-spool.db'}\n", 1))
        for copy in (other_spool, config):
            r = subprocess.run([rein_bin, "sidecar", "--config", str(copy), "--env-file", str(env_file)],
                               env=first.env, capture_output=True, text=True, timeout=60)
            out = r.stdout + r.stderr
            assert r.returncode == 1, out
            assert f"the state directory {first.dir / 'state'} is in use by another process (pid {first.proc.pid})" in out, out
            assert not env_file.exists()  # it never served
        assert not (first.dir / "other-spool.db").exists()
        # The first sidecar goes on: its next call is recorded right after the first one.
        client.put_object(Bucket="one-1", Key="k", Body=b"x")
        wait_for(lambda: len(collector.records(sidecar="sc-one")) == 2, timeout=30, what="both records shipped")
    finally:
        first.stop()
    records = collector.records(sidecar="sc-one")
    assert [r["sequence"] for r in records] == [1, 2]
    assert [r["operation"] for r in records] == ["CreateBucket", "PutObject"]
    assert all(r["decision"] == "allow" and "error_code" not in r for r in records), records
    assert collector.findings(sidecar="sc-one") == []

    # Stopped, it lets go: the same state directory serves again and continues the chain.
    first.start()
    try:
        assert s3(first).get_object(Bucket="one-1", Key="k")["Body"].read() == b"x"
        wait_for(lambda: len(collector.records(sidecar="sc-one")) == 3, timeout=30, what="the third record shipped")
    finally:
        first.stop()
    assert [r["sequence"] for r in collector.records(sidecar="sc-one")] == [1, 2, 3]
    assert collector.findings(sidecar="sc-one") == []


def test_a_second_collector_on_one_state_dir_is_refused_and_the_first_keeps_ingesting(rein_bin, collector):
    chain = ScriptedChain("sc-c")
    status, body = ship(collector, "sc-c", [chain.seal(), chain.seal()])
    assert status == 200, body
    config = second_copy(collector.config_path, (collector.port,))
    r = subprocess.run([rein_bin, "collector", "run", "--config", str(config)], env=clean_env(),
                       capture_output=True, text=True, timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert f"collector.sqlite is in use by another process (pid {collector.proc.pid})" in out, out

    status, body = ship(collector, "sc-c", [chain.seal()])
    assert status == 200, body
    assert [r["sequence"] for r in collector.records(sidecar="sc-c")] == [1, 2, 3]
    assert collector.findings(sidecar="sc-c") == []

    # A clean stop folds the log into the database file and lets go; the next start finds everything.
    collector.stop()
    assert collector.proc.returncode == 0, collector.log_text()
    state = collector.dir / "state"
    for db in ("collector.sqlite", "holds.sqlite"):
        wal = state / (db + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0, f"{db}: log left with {wal.stat().st_size} bytes"
    collector.start()
    status, body = ship(collector, "sc-c", [chain.seal()])
    assert status == 200, body
    assert [r["sequence"] for r in collector.records(sidecar="sc-c")] == [1, 2, 3, 4]
    assert collector.findings(sidecar="sc-c") == []
    status, _, data = collector.call("GET", "/v1/audit/verify?sidecar=sc-c")
    assert status == 200, data
