"""Sidecars that are gone on purpose, against a real `rein sidecar` and a real
`rein collector`: a SIGTERM'd sidecar drains and says it stopped, a
kill -9'd one goes silent until an admin retires it with `rein fleet retire`.

Clients are boto3 through the sidecar; upstream is moto; all on 127.0.0.1.
"""

import json
import subprocess

from sidecar_harness import Sidecar, clean_env, wait_for
from test_audit_sidecar import POLICY, link, s3


def test_a_sidecar_stopped_on_purpose_is_not_silent_and_a_lost_one_is_retired(rein_bin, moto, collector):
    """A rollout stops one sidecar (SIGTERM: it drains and says it stops) and
    a node is lost under another (kill -9: silent). `rein fleet` flags only
    the lost one; an admin retires it with a reason, on the record."""
    def fleet(*args, role="auditor"):
        env = dict(clean_env(), REIN_COLLECTOR_URL=collector.url, REIN_COLLECTOR_TOKEN_FILE=collector.token_file(role))
        return subprocess.run([rein_bin, "fleet", *args], env=env, capture_output=True, text=True, timeout=60)

    def statuses():
        r = fleet("--all", "--json")
        assert r.returncode in (0, 2), r.stderr
        return {e["sidecar_id"]: e["status"] for e in json.loads(r.stdout)}

    rolled = Sidecar(rein_bin, moto.url, POLICY.format(prefix="roll-"), sidecar_id="sc-rolled",
                     extra_config=link(collector.url, collector.token_file("sidecar")))
    lost = Sidecar(rein_bin, moto.url, POLICY.format(prefix="lost-"), sidecar_id="sc-lost",
                   extra_config=link(collector.url, collector.token_file("sidecar")))
    try:
        s3(rolled).create_bucket(Bucket="roll-1")
        s3(lost).create_bucket(Bucket="lost-1")
        wait_for(lambda: statuses() == {"sc-rolled": "ok", "sc-lost": "ok"}, timeout=30, what="both sidecars reporting")
        # Written just before the stop: only the stop's drain ships it.
        s3(rolled).put_object(Bucket="roll-1", Key="last", Body=b"x")
    finally:
        rolled.stop()
        lost.kill9()
    assert rolled.proc.returncode == 0
    assert "told the collector this sidecar is stopping" in rolled.log_text()
    assert len(collector.records(sidecar="sc-rolled")) == 2
    wait_for(lambda: statuses() == {"sc-rolled": "stopped", "sc-lost": "silent"}, timeout=30, what="stopped and silent")

    r = fleet()
    assert r.returncode == 2, r.stderr
    assert "1 of 1 sidecars need attention: sc-lost (silent)" in r.stderr
    assert "(1 stopped or retired sidecars not shown; --all lists them)" in r.stderr
    assert "sc-lost" in r.stdout and "sc-rolled" not in r.stdout
    # Narrowed on the collector: by status (ended ones too when asked for) and by agent.
    r = fleet("--status", "stopped", "--json")
    assert r.returncode == 0, r.stderr
    assert [e["sidecar_id"] for e in json.loads(r.stdout)] == ["sc-rolled"]
    r = fleet("--status", "stopped")
    assert r.returncode == 0 and "sc-rolled" in r.stdout and "sc-lost" not in r.stdout, r.stdout
    assert "(1 other sidecars not shown)" in r.stderr, r.stderr
    r = fleet("--agent", "agent-other", "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == [], r.stdout + r.stderr
    r = fleet("--status", "dead")
    assert r.returncode == 1 and "not one of ok, findings, clock-skew, not-ready, silent, stopped, retired" in r.stderr, r.stderr
    # Retiring is an admin's act, and needs a reason.
    refused = fleet("retire", "sc-lost", "--reason", "node lost")
    assert refused.returncode == 1 and "403" in refused.stderr, refused.stderr
    done = fleet("retire", "sc-lost", "--reason", "node i-0abc lost in a zone outage, INC-1234", role="admin")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("retired sidecar sc-lost (agent agent-a"), done.stdout
    assert fleet().returncode == 0
    assert statuses() == {"sc-rolled": "stopped", "sc-lost": "retired"}
    events = collector.records(event="sidecar-retired")
    assert len(events) == 1 and events[0]["access_key_id"] == "alice"
    assert events[0]["reason"].endswith(": node i-0abc lost in a zone outage, INC-1234"), events[0]["reason"]
    assert "sidecar retired" in collector.log_text()
