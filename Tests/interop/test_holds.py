"""Human-in-the-loop holds, end to end: a real boto3 (and AWS CLI) call on a
hold-listed key waits for a person who decides with `rein holds` in another
process, against a standalone sidecar's admin listener and against the
collector. Upstream is moto; everything is on 127.0.0.1.
"""

import hashlib
import json
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from collector_harness import TOKENS as COLLECTOR_TOKENS, Collector
from sidecar_harness import Sidecar, clean_env, wait_for
from webhook_receiver import Webhook

AGENT = "agent-h"
APPROVER = "tok-holds-approver-0123456789abcdef"
OWNER = "tok-holds-owner-0123456789abcdef"
AUDITOR = "tok-holds-auditor-0123456789abcdef"

POLICY = f"""apiVersion: rein.dev/v1alpha1
kind: TaskPolicy
agent: {{id: {AGENT}, owner: owner@example.com}}
task: {{id: task-h, purpose: holds interop, notBefore: 2026-01-01T00:00:00Z, notAfter: 2027-12-31T00:00:00Z}}
mode: enforce
statements:
  - id: work
    effect: allow
    actions: [s3:CreateBucket, s3:PutObject, s3:GetObject, s3:ListBucket, s3:DeleteObject]
    resources: ["arn:aws:s3:::hold-*", "arn:aws:s3:::hold-*/*"]
  - id: prod-deletes-need-approval
    effect: hold
    actions: [s3:DeleteObject]
    resources: ["arn:aws:s3:::hold-*/prod/*"]
"""


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def holds_config(wait="20s", expire="15m", extra=""):
    return f"""holds:
  wait: {wait}
  expire: {expire}
  max_grant: 10m
{extra}  tokens:
    - {{name: alice, roles: [approver], sha256: {sha(APPROVER)}}}
    - {{name: olga, roles: [approver], sha256: {sha(OWNER)}, owns_agents: [{AGENT}]}}
    - {{name: carol, roles: [auditor], sha256: {sha(AUDITOR)}}}
"""


def admin_url(sidecar):
    return f"http://127.0.0.1:{sidecar.admin_port}"


def rein_holds(rein_bin, url, token, *args):
    """`rein holds …` in its own process, as an approver would run it."""
    env = clean_env()
    env["REIN_COLLECTOR_URL"] = url
    env["REIN_COLLECTOR_TOKEN"] = token
    return subprocess.run([rein_bin, "holds", *args], env=env, capture_output=True, text=True, timeout=60)


def ok(proc):
    assert proc.returncode == 0, f"{proc.args!r} exited {proc.returncode}\nstdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}"
    return proc


def api(url, method, path, token=None, body=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = json.dumps(body).encode() if body is not None else None
    if data:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    def parse(data):
        try:
            return json.loads(data or b"{}")
        except ValueError:
            return {"text": data.decode(errors="replace")}
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, parse(r.read())
    except urllib.error.HTTPError as e:
        return e.code, parse(e.read())


def pending_hold(rein_bin, url, token, path_suffix, timeout=30.0):
    """The pending hold whose request path ends with `path_suffix`, listed by the CLI."""
    def find():
        holds = json.loads(ok(rein_holds(rein_bin, url, token, "list", "--pending", "--json")).stdout)
        return next((h for h in holds if h["summary"]["path"].endswith(path_suffix)), None)
    return wait_for(find, timeout=timeout, what=f"a pending hold on {path_suffix}")


def all_holds(url, token, suffix):
    status, body = api(url, "GET", "/v1/holds?status=all", token)
    assert status == 200, body
    return [h for h in body["holds"] if h["summary"]["path"].endswith(suffix)]


class Call(threading.Thread):
    """One SDK call in a thread: its result or its exception, and when it ended."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn = fn
        self.result = None
        self.error = None
        self.ended = None
        self.start()

    def run(self):
        try:
            self.result = self.fn()
        except Exception as e:  # noqa: BLE001 - the test inspects it
            self.error = e
        self.ended = time.time()


def s3(sidecar, **config):
    cfg = Config(**{"connect_timeout": 5, "read_timeout": 60, "retries": {"max_attempts": 1, "mode": "standard"}, **config})
    return sidecar.agent_session().client("s3", region_name="us-east-1", endpoint_url=sidecar.url, config=cfg)


def put(moto, bucket, key):
    client = moto.client("s3")
    try:
        client.create_bucket(Bucket=bucket)
    except ClientError:
        pass
    client.put_object(Bucket=bucket, Key=key, Body=b"data")


def exists(moto, bucket, key):
    try:
        moto.client("s3").head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as e:
        assert e.response["Error"]["Code"] in ("404", "NoSuchKey"), e
        return False


@pytest.fixture(scope="module")
def standalone(rein_bin, moto):
    sc = Sidecar(rein_bin, moto.url, POLICY, extra_config=holds_config())
    yield sc
    sc.stop()


def test_approval_from_another_process_lets_the_delete_through(rein_bin, moto, standalone):
    put(moto, "hold-a", "prod/report.csv")
    call = Call(lambda: s3(standalone).delete_object(Bucket="hold-a", Key="prod/report.csv"))
    hold = pending_hold(rein_bin, admin_url(standalone), APPROVER, "/prod/report.csv")
    assert call.is_alive(), "the held call must wait for the decision"
    assert exists(moto, "hold-a", "prod/report.csv"), "nothing may reach AWS before the approval"
    shown = ok(rein_holds(rein_bin, admin_url(standalone), AUDITOR, "show", hold["id"])).stdout
    assert "s3:DeleteObject" in shown and "prod-deletes-need-approval" in shown and "pending" in shown
    ok(rein_holds(rein_bin, admin_url(standalone), APPROVER, "approve", hold["id"], "--reason", "cleanup ticket 42"))
    call.join(30)
    assert call.error is None, call.error
    assert call.result["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert not exists(moto, "hold-a", "prod/report.csv")
    records = standalone.wait_audit(1)
    events = [r["event"] for r in records if r.get("hold_id") == hold["id"]]
    assert "hold-created" in events and "hold-approved" in events, events
    calls = [r for r in records if r.get("hold_id") == hold["id"] and r["event"] == "call"]
    assert calls and calls[-1]["decision"] == "hold-approved" and calls[-1]["forwarded"] is True
    assert calls[-1]["approver"] == "alice" and calls[-1]["latency"]["hold_ms"] > 0
    # Approving twice is idempotent; the hold is approved and used.
    again = json.loads(ok(rein_holds(rein_bin, admin_url(standalone), APPROVER, "approve", hold["id"], "--reason", "again", "--json")).stdout)
    assert again["status"] == "approved" and again["used_ms"] is not None


def test_denial_reaches_the_sdk_as_access_denied_with_hold_id_and_reason(rein_bin, moto, standalone):
    put(moto, "hold-b", "prod/keep.csv")
    call = Call(lambda: s3(standalone).delete_object(Bucket="hold-b", Key="prod/keep.csv"))
    hold = pending_hold(rein_bin, admin_url(standalone), APPROVER, "/prod/keep.csv")
    ok(rein_holds(rein_bin, admin_url(standalone), APPROVER, "deny", hold["id"], "--reason", "prod data stays"))
    call.join(30)
    assert isinstance(call.error, ClientError), call.error
    err = call.error.response["Error"]
    assert err["Code"] == "AccessDenied"
    assert hold["id"] in err["Message"] and "prod data stays" in err["Message"] and "alice" in err["Message"]
    assert exists(moto, "hold-b", "prod/keep.csv")
    # Approving a denied hold is an error and changes nothing.
    proc = rein_holds(rein_bin, admin_url(standalone), APPROVER, "approve", hold["id"], "--reason", "changed my mind")
    assert proc.returncode != 0 and "denied" in proc.stderr
    assert exists(moto, "hold-b", "prod/keep.csv")


def test_agent_and_owner_credentials_cannot_approve(rein_bin, moto, standalone):
    put(moto, "hold-c", "prod/secret.csv")
    call = Call(lambda: s3(standalone).delete_object(Bucket="hold-c", Key="prod/secret.csv"))
    hold = pending_hold(rein_bin, admin_url(standalone), APPROVER, "/prod/secret.csv")
    url = admin_url(standalone)
    agent_token = Path(standalone.token_file).read_text().strip()
    creds = standalone.credentials()
    body = {"reason": "I approve myself"}
    assert api(url, "POST", f"/v1/holds/{hold['id']}/approve", agent_token, body)[0] == 401
    assert api(url, "POST", f"/v1/holds/{hold['id']}/approve", creds["AccessKeyId"], body)[0] == 401
    assert api(url, "POST", f"/v1/holds/{hold['id']}/approve", creds["SecretAccessKey"], body)[0] == 401
    status, answer = api(url, "POST", f"/v1/holds/{hold['id']}/approve", OWNER, body)
    assert status == 403 and "separation of duties" in answer["message"]
    assert api(url, "POST", f"/v1/holds/{hold['id']}/approve", AUDITOR, body)[0] == 403
    # The agent's own SigV4 credentials on the agent listener cannot reach the holds API either.
    assert api(standalone.url, "POST", f"/v1/holds/{hold['id']}/approve", agent_token, body)[0] in (400, 403, 404)
    assert api(url, "GET", f"/v1/holds/{hold['id']}", AUDITOR)[1]["status"] == "pending"
    assert call.is_alive() and exists(moto, "hold-c", "prod/secret.csv")
    ok(rein_holds(rein_bin, url, APPROVER, "deny", hold["id"], "--reason", "end of test"))
    call.join(30)


def test_undecided_hold_expires_as_a_denial(rein_bin, moto):
    sc = Sidecar(rein_bin, moto.url, POLICY, extra_config=holds_config(wait="20s", expire="3s"))
    try:
        put(moto, "hold-d", "prod/old.csv")
        started = time.time()
        with pytest.raises(ClientError) as info:
            s3(sc).delete_object(Bucket="hold-d", Key="prod/old.csv")
        elapsed = time.time() - started
        err = info.value.response["Error"]
        assert err["Code"] == "AccessDenied" and "expired" in err["Message"]
        assert 2.5 < elapsed < 10, elapsed
        assert exists(moto, "hold-d", "prod/old.csv")
        [hold] = all_holds(admin_url(sc), AUDITOR, "/prod/old.csv")
        assert hold["status"] == "expired"
        proc = rein_holds(rein_bin, admin_url(sc), APPROVER, "approve", hold["id"], "--reason", "too late")
        assert proc.returncode != 0 and "expired" in proc.stderr
        records = sc.wait_audit(1)
        assert any(r["event"] == "hold-expired" and r.get("hold_id") == hold["id"] for r in records)
        assert any(r["event"] == "call" and r["decision"] == "hold-expired" for r in records)
    finally:
        sc.stop()


@pytest.fixture(scope="module")
def short_wait(rein_bin, moto):
    """A sidecar that answers a still-pending hold after 1 s, so SDK retries show."""
    sc = Sidecar(rein_bin, moto.url, POLICY, extra_config=holds_config(wait="1s"))
    yield sc
    sc.stop()


@pytest.mark.parametrize("mode", ["legacy", "standard"])
def test_boto3_retries_the_pending_answer_and_the_retry_goes_through(rein_bin, moto, short_wait, mode):
    key = f"prod/retry-{mode}.csv"
    put(moto, "hold-e", key)
    # boto3's own defaults for the mode (legacy: 5 attempts, standard: 3).
    call = Call(lambda: s3(short_wait, retries={"mode": mode}).delete_object(Bucket="hold-e", Key=key))
    hold = pending_hold(rein_bin, admin_url(short_wait), APPROVER, key)
    # Wait for the first retryable answer, then approve: a retry must carry it through.
    wait_for(lambda: any(r.get("hold_id") == hold["id"] and r["decision"] == "hold-pending" and r["error_code"] == "SlowDown"
                         for r in short_wait.audit()), timeout=10, what="a retryable hold-pending answer")
    ok(rein_holds(rein_bin, admin_url(short_wait), APPROVER, "approve", hold["id"], "--reason", f"retry {mode}"))
    call.join(60)
    assert call.error is None, call.error
    assert call.result["ResponseMetadata"]["RetryAttempts"] >= 1
    assert not exists(moto, "hold-e", key)
    assert len(all_holds(admin_url(short_wait), AUDITOR, key)) == 1, "every retry must attach to the same hold"


def aws_cli(flavour, sidecar, tmp_path, *args):
    env = sidecar.agent_env()
    empty = tmp_path / "empty.conf"
    empty.touch()
    env.update({"AWS_CONFIG_FILE": str(empty), "AWS_SHARED_CREDENTIALS_FILE": str(empty), "AWS_PAGER": "", "HOME": str(tmp_path)})
    if flavour == "v2":
        if not Path("/usr/bin/aws").exists():
            pytest.skip("AWS CLI v2 (Debian awscli) not installed")
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = Path(sidecar.token_file).read_text().strip()
        base = ["/usr/bin/aws"]
    else:
        base = [sys.executable, "-m", "awscli"]
    return subprocess.Popen([*base, *args, "--endpoint-url", sidecar.url, "--output", "json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("flavour", ["v1", "v2"])
def test_aws_cli_retries_the_pending_answer_by_default(rein_bin, moto, short_wait, tmp_path, flavour):
    key = f"prod/cli-{flavour}.csv"
    put(moto, "hold-f", key)
    proc = aws_cli(flavour, short_wait, tmp_path, "s3api", "delete-object", "--bucket", "hold-f", "--key", key)
    hold = pending_hold(rein_bin, admin_url(short_wait), APPROVER, key)
    wait_for(lambda: any(r.get("hold_id") == hold["id"] and r["decision"] == "hold-pending" for r in short_wait.audit()),
             timeout=10, what="a retryable answer to the CLI")
    ok(rein_holds(rein_bin, admin_url(short_wait), APPROVER, "approve", hold["id"], "--reason", "cli"))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, f"stdout: {out}\nstderr: {err}"
    assert not exists(moto, "hold-f", key)
    assert len(all_holds(admin_url(short_wait), AUDITOR, key)) == 1


def test_approval_after_the_clients_read_timeout_goes_through_on_the_retry(rein_bin, moto, standalone):
    key = "prod/slow-approval.csv"
    put(moto, "hold-g", key)
    started = time.time()
    # The client gives up on each attempt after 2 s (the sidecar would wait 20 s) and retries.
    client = s3(standalone, read_timeout=2, retries={"mode": "legacy", "max_attempts": 6})
    call = Call(lambda: client.delete_object(Bucket="hold-g", Key=key))
    hold = pending_hold(rein_bin, admin_url(standalone), APPROVER, key)
    wait_for(lambda: time.time() - started > 3.0, what="the first client timeout")
    ok(rein_holds(rein_bin, admin_url(standalone), APPROVER, "approve", hold["id"], "--reason", "approved after a timeout"))
    call.join(60)
    assert call.error is None, call.error
    assert call.result["ResponseMetadata"]["RetryAttempts"] >= 1
    assert not exists(moto, "hold-g", key)
    assert len(all_holds(admin_url(standalone), AUDITOR, key)) == 1
    # The attempt the client abandoned is recorded, and was not forwarded.
    abandoned = [r for r in standalone.audit() if r.get("hold_id") == hold["id"] and r["event"] == "call" and not r["forwarded"]]
    assert abandoned, "the abandoned attempt must be in the audit trail"


def test_a_pending_hold_survives_a_sidecar_restart(rein_bin, moto):
    sc = Sidecar(rein_bin, moto.url, POLICY, extra_config=holds_config())
    try:
        key = "prod/restart.csv"
        put(moto, "hold-h", key)
        call = Call(lambda: s3(sc, read_timeout=30).delete_object(Bucket="hold-h", Key=key))
        hold = pending_hold(rein_bin, admin_url(sc), APPROVER, key)
        sc.kill9()
        call.join(30)
        assert call.error is not None, "the connection died with the sidecar"
        sc.start()
        assert api(admin_url(sc), "GET", f"/v1/holds/{hold['id']}", AUDITOR)[1]["status"] == "pending"
        ok(rein_holds(rein_bin, admin_url(sc), APPROVER, "approve", hold["id"], "--reason", "after restart"))
        assert exists(moto, "hold-h", key), "approval alone forwards nothing"
        # The agent retries the same call (with credentials from the restarted sidecar).
        result = s3(sc).delete_object(Bucket="hold-h", Key=key)
        assert result["ResponseMetadata"]["HTTPStatusCode"] == 204
        assert not exists(moto, "hold-h", key)
        assert len(all_holds(admin_url(sc), AUDITOR, key)) == 1
        # One-shot: the same call again raises a new hold.
        put(moto, "hold-h", key)
        again = Call(lambda: s3(sc).delete_object(Bucket="hold-h", Key=key))
        wait_for(lambda: len(all_holds(admin_url(sc), AUDITOR, key)) == 2, what="a new hold for the repeated call")
        second = next(h for h in all_holds(admin_url(sc), AUDITOR, key) if h["status"] == "pending")
        ok(rein_holds(rein_bin, admin_url(sc), APPROVER, "deny", second["id"], "--reason", "once was enough"))
        again.join(30)
        assert isinstance(again.error, ClientError) and again.error.response["Error"]["Code"] == "AccessDenied"
        assert exists(moto, "hold-h", key)
    finally:
        sc.stop()


def test_a_scoped_one_minute_approval_lets_matching_calls_through_then_stops(rein_bin, moto, short_wait):
    key = "prod/scoped.csv"
    put(moto, "hold-i", key)
    call = Call(lambda: s3(short_wait, retries={"mode": "legacy", "max_attempts": 10}).delete_object(Bucket="hold-i", Key=key))
    hold = pending_hold(rein_bin, admin_url(short_wait), APPROVER, key)
    approved = json.loads(ok(rein_holds(rein_bin, admin_url(short_wait), APPROVER, "approve", hold["id"], "--for", "1m",
                                        "--reason", "bulk cleanup", "--json")).stdout)
    approved_at = time.time()
    assert approved["scope"] == "action-resource" and approved["grant_id"].startswith("g-")
    call.join(60)
    assert call.error is None, call.error
    # Matching calls now pass with no new hold, each recorded with the grant.
    for _ in range(3):
        put(moto, "hold-i", key)
        s3(short_wait).delete_object(Bucket="hold-i", Key=key)
        assert not exists(moto, "hold-i", key)
    assert len(all_holds(admin_url(short_wait), AUDITOR, key)) == 1
    used = [r for r in short_wait.audit() if r.get("grant_id") == approved["grant_id"]]
    assert sum(1 for r in used if r["event"] == "call" and r["decision"] == "hold-approved" and r["forwarded"]) >= 3
    assert sum(1 for r in used if r["event"] == "grant-used") >= 3
    # Another resource is not covered.
    put(moto, "hold-i", "prod/other.csv")
    with pytest.raises(ClientError) as info:
        s3(short_wait).delete_object(Bucket="hold-i", Key="prod/other.csv")
    assert info.value.response["Error"]["Code"] == "SlowDown"
    assert exists(moto, "hold-i", "prod/other.csv")
    # After the minute, the grant stops.
    wait_for(lambda: time.time() - approved_at > 61, timeout=70, what="the grant's expiry")
    put(moto, "hold-i", key)
    with pytest.raises(ClientError) as info:
        s3(short_wait).delete_object(Bucket="hold-i", Key=key)
    assert info.value.response["Error"]["Code"] == "SlowDown"
    assert exists(moto, "hold-i", key)
    assert len(all_holds(admin_url(short_wait), AUDITOR, key)) == 2


def test_the_webhook_gets_a_slack_payload(rein_bin, moto):
    hook = Webhook()
    extra = f"  webhook_url: {hook.url}\n  console_url: http://approvals.internal\n"
    sc = Sidecar(rein_bin, moto.url, POLICY, extra_config=holds_config(extra=extra))
    try:
        put(moto, "hold-j", "prod/hooked.csv")
        call = Call(lambda: s3(sc).delete_object(Bucket="hold-j", Key="prod/hooked.csv"))
        hold = pending_hold(rein_bin, admin_url(sc), APPROVER, "/prod/hooked.csv")
        posted = wait_for(lambda: hook.posts, timeout=10, what="the webhook call")
        payload = posted[0][1]
        assert hold["id"] in payload["text"] and "s3:DeleteObject" in payload["text"] and AGENT in payload["text"]
        assert payload["blocks"] and payload["rein"]["hold_id"] == hold["id"]
        assert payload["rein"]["links"]["hold"] == f"http://approvals.internal/v1/holds/{hold['id']}"
        assert "SecretAccessKey" not in json.dumps(payload) and sc.credentials()["SecretAccessKey"] not in json.dumps(payload)
        ok(rein_holds(rein_bin, admin_url(sc), APPROVER, "approve", hold["id"], "--reason", "hooked"))
        call.join(30)
        assert call.error is None, call.error
        wait_for(lambda: any(r["event"] == "hold-notified" and r.get("hold_id") == hold["id"] for r in sc.audit()),
                 timeout=10, what="the hold-notified event")
    finally:
        sc.stop()
        hook.stop()


def test_a_failing_webhook_delays_no_decision(rein_bin, moto):
    hook = Webhook(status=500, delay=3.0)
    sc = Sidecar(rein_bin, moto.url, POLICY, extra_config=holds_config(extra=f"  webhook_url: {hook.url}\n"))
    try:
        put(moto, "hold-k", "prod/unhooked.csv")
        call = Call(lambda: s3(sc).delete_object(Bucket="hold-k", Key="prod/unhooked.csv"))
        hold = pending_hold(rein_bin, admin_url(sc), APPROVER, "/prod/unhooked.csv", timeout=5)
        wait_for(lambda: hook.posts, timeout=10, what="the first (failing) webhook attempt")
        approved_at = time.time()
        ok(rein_holds(rein_bin, admin_url(sc), APPROVER, "approve", hold["id"], "--reason", "webhook is down"))
        call.join(30)
        assert call.error is None, call.error
        assert call.ended - approved_at < 2.0, f"the decision took {call.ended - approved_at:.1f}s to reach the agent"
        assert not exists(moto, "hold-k", "prod/unhooked.csv")
        # The webhook keeps being retried with backoff in the background.
        wait_for(lambda: len(hook.posts) >= 2, timeout=15, what="a webhook retry")
    finally:
        sc.stop()
        hook.stop()


def central(rein_bin, moto, wait="20s"):
    """A collector keeping holds, and a sidecar linked to it."""
    collector = Collector(rein_bin, agents=(AGENT,))
    link = f"""collector:
  url: {collector.url}
  token_file: {collector.token_file('sidecar')}
  batch_max_interval: 200ms
holds:
  wait: {wait}
"""
    return collector, Sidecar(rein_bin, moto.url, POLICY, extra_config=link)


def test_central_holds_through_the_collector(rein_bin, moto):
    collector, sc = central(rein_bin, moto)
    try:
        put(moto, "hold-l", "prod/central.csv")
        call = Call(lambda: s3(sc).delete_object(Bucket="hold-l", Key="prod/central.csv"))
        hold = pending_hold(rein_bin, collector.url, COLLECTOR_TOKENS["approver"], "/prod/central.csv")
        assert hold["sidecar_id"] and hold["agent_id"] == AGENT
        # The sidecar's own token can read its agent's holds but never decide.
        status, answer = api(collector.url, "POST", f"/v1/holds/{hold['id']}/approve", COLLECTOR_TOKENS["sidecar"], {"reason": "self"})
        assert status == 403
        assert api(collector.url, "POST", f"/v1/holds/{hold['id']}/approve", COLLECTOR_TOKENS["auditor"], {"reason": "x"})[0] == 403
        # No token puts a hold under another agent's registered sidecar.
        foreign = {"sidecar_id": "sc-foreign", "agent_id": "agent-other", "task_id": "t", "public_key": "ab" * 32, "version": "x"}
        assert api(collector.url, "POST", "/v1/sidecars/register", COLLECTOR_TOKENS["sidecar-other"], foreign)[0] == 200
        status, answer = api(collector.url, "POST", "/v1/holds", COLLECTOR_TOKENS["sidecar"], {"sidecar_id": "sc-foreign", "agent_id": AGENT})
        assert status == 403 and "serves agent agent-other" in answer["message"], answer
        # Nor through another spelling of the route.
        for path in ("/v1/holds/", "//v1/holds", "/v1//holds"):
            assert api(collector.url, "POST", path, COLLECTOR_TOKENS["sidecar"], {"sidecar_id": "sc-foreign", "agent_id": AGENT})[0] == 403, path
        # A token scoped to other sidecar ids neither waits on nor uses this sidecar's hold.
        for verb in ("wait?timeout=1", "consume"):
            method = "GET" if verb.startswith("wait") else "POST"
            assert api(collector.url, method, f"/v1/holds/{hold['id']}/{verb}", COLLECTOR_TOKENS["sidecar-web"], None)[0] == 403, verb
        # The standalone API is off: with a collector, approvals happen there only.
        assert api(admin_url(sc), "POST", f"/v1/holds/{hold['id']}/approve", APPROVER, {"reason": "x"})[0] == 404
        approved_at = time.time()
        ok(rein_holds(rein_bin, collector.url, COLLECTOR_TOKENS["approver"], "approve", hold["id"], "--reason", "central ok"))
        call.join(30)
        assert call.error is None, call.error
        assert call.ended - approved_at < 3.0, "the decision must flow back promptly (long-poll)"
        assert not exists(moto, "hold-l", "prod/central.csv")
        # Approving again changes nothing, and says whose decision stands.
        again = ok(rein_holds(rein_bin, collector.url, COLLECTOR_TOKENS["approver"], "approve", hold["id"], "--reason", "again"))
        assert "was already approved by bob" in again.stdout and "(reason: central ok)" in again.stdout, again.stdout
        events = collector.records(sidecar="collector")
        kinds = {(r["event"], r.get("hold_id")) for r in events}
        assert ("hold-created", hold["id"]) in kinds and ("hold-approved", hold["id"]) in kinds
        approved = [r for r in events if r["event"] == "hold-approved" and r.get("hold_id") == hold["id"]]
        assert approved[0]["approver"] == "bob"
        assert any(r["event"] == "access-denied" and "sidecar" in (r.get("reason") or "") for r in events)
        # The sidecar's own chain records the forwarded call with the approver.
        wait_for(lambda: any(r.get("hold_id") == hold["id"] and r["decision"] == "hold-approved" and r["approver"] == "bob"
                             for r in sc.audit()), timeout=10, what="the sidecar's call record")
    finally:
        sc.stop()
        collector.stop()


def test_a_held_call_naming_a_thousand_keys_goes_through_the_collector(rein_bin, moto):
    """A hold echoes every resource of its call (a DeleteObjects of 1,000
    long keys is about 340 KB): the sidecar takes answers that large from
    the collector, so an approval of such a call reaches it."""
    collector, sc = central(rein_bin, moto)
    try:
        put(moto, "hold-big", "prod/seed")
        keys = [{"Key": f"prod/k{i:04d}-" + "x" * 300} for i in range(1000)]
        call = Call(lambda: s3(sc).delete_objects(Bucket="hold-big", Delete={"Objects": keys}))

        def pending():
            status, body = api(collector.url, "GET", "/v1/holds", COLLECTOR_TOKENS["approver"])
            return next((h for h in body.get("holds", []) if h["operation"] == "DeleteObjects"), None) if status == 200 else None

        hold = wait_for(pending, timeout=30, what="the DeleteObjects hold")
        assert len(json.dumps(hold)) > 300_000 and len(hold["grants"][0]["resources"]) == 1000
        ok(rein_holds(rein_bin, collector.url, COLLECTOR_TOKENS["approver"], "approve", hold["id"], "--reason", "cleanup"))
        call.join(30)
        assert call.error is None, call.error
        assert not exists(moto, "hold-big", keys[0]["Key"])
    finally:
        sc.stop()
        collector.stop()


def test_a_pending_central_hold_survives_a_collector_restart(rein_bin, moto):
    collector, sc = central(rein_bin, moto, wait="2s")
    try:
        key = "prod/collector-restart.csv"
        put(moto, "hold-m", key)
        client = s3(sc, retries={"mode": "legacy", "max_attempts": 12})
        call = Call(lambda: client.delete_object(Bucket="hold-m", Key=key))
        hold = pending_hold(rein_bin, collector.url, COLLECTOR_TOKENS["approver"], key)
        collector.kill9()
        time.sleep(2.5)  # the sidecar now answers retryable errors: the approvals' store is down
        assert exists(moto, "hold-m", key), "nothing moves while the collector is down"
        assert call.is_alive()
        collector.start()
        assert api(collector.url, "GET", f"/v1/holds/{hold['id']}", COLLECTOR_TOKENS["auditor"])[1]["status"] == "pending"
        ok(rein_holds(rein_bin, collector.url, COLLECTOR_TOKENS["approver"], "approve", hold["id"], "--reason", "after the outage"))
        call.join(120)
        assert call.error is None, call.error
        assert not exists(moto, "hold-m", key)
        assert len(all_holds(collector.url, COLLECTOR_TOKENS["auditor"], key)) == 1
        outage = [r for r in sc.audit() if r["event"] == "call" and r["decision"] == "hold-pending" and r["error_code"] == "ServiceUnavailable"]
        assert outage, "calls during the outage are refused with a retryable error and recorded"
    finally:
        sc.stop()
        collector.stop()
