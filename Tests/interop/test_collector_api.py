"""`rein collector` on its own: a 100k-record stream through a kill -9,
tampering flagged at the exact place, roles, and central policies through
`rein policy push|list|show|diff|history|rollback`.

The sidecar's side is scripted here (collector_harness.ScriptedChain) so the
tests control every byte; test_audit_sidecar.py drives a real sidecar.
"""

import hashlib
import json
import os
import socket
import subprocess
import threading
import time

import pytest

from collector_harness import TOKENS, Collector, ScriptedChain, ship
from sidecar_harness import wait_for
from webhook_receiver import Webhook

AGENT_POLICY = """apiVersion: rein.dev/v1alpha1
kind: TaskPolicy
agent: {{id: agent-a, owner: owner@example.com}}
task: {{id: task-1, purpose: collector tests, notBefore: 2026-01-01T00:00:00Z, notAfter: 2027-12-31T00:00:00Z}}
mode: enforce
statements:
  - id: read-reports
    effect: allow
    actions: [s3:GetObject]
    resources: ["arn:aws:s3:::{bucket}/*"]
"""


def register(collector, sidecar_id, agent="agent-a"):
    status, _, data = collector.call("POST", "/v1/sidecars/register", role="sidecar", body={
        "sidecar_id": sidecar_id, "agent_id": agent, "task_id": "task-1", "public_key": "ab" * 32, "version": "test"})
    assert status == 200, data


def test_a_100k_stream_survives_a_collector_kill_9(collector):
    register(collector, "sc-crash")
    chain = ScriptedChain("sc-crash")
    batches = [[chain.seal() for _ in range(1000)] for _ in range(100)]
    acked = []
    errors = []

    def stream():
        for i, batch in enumerate(batches):
            deadline = time.time() + 120
            while True:  # at-least-once: resend until a 200 says it is durable
                try:
                    status, body = ship(collector, "sc-crash", batch)
                    if status == 200:
                        acked.append(i)
                        break
                    if status < 500:
                        errors.append((i, status, body))
                        return
                except OSError:
                    pass
                if time.time() > deadline:
                    errors.append((i, "timeout"))
                    return
                time.sleep(0.1)

    t = threading.Thread(target=stream)
    t.start()
    while len(acked) < 30 and t.is_alive():
        time.sleep(0.01)
    collector.kill9()  # mid-stream: some batch is in flight or about to be
    time.sleep(1)
    collector.start()
    t.join(timeout=300)
    assert not errors, errors
    assert len(acked) == 100
    records = collector.records(sidecar="sc-crash")
    ids = [r["record_id"] for r in records]
    assert len(ids) == 100_000, f"{len(ids)} records stored"
    assert len(set(ids)) == 100_000, "a record was stored twice"
    assert sorted(r["sequence"] for r in records) == list(range(1, 100_001))
    assert collector.findings(sidecar="sc-crash") == []
    result = collector.json("GET", "/v1/audit/verify?sidecar=sc-crash")
    assert result["ok"] is True and result["records"] == 100_000, result


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder"])
def test_tampering_is_flagged_at_the_exact_record(collector, tamper):
    sid = f"sc-{tamper}"
    register(collector, sid)
    chain = ScriptedChain(sid)
    lines = [chain.seal() for _ in range(10)]
    if tamper == "edit":  # record 5 says deny → allow after sealing
        lines[4] = lines[4].replace(b'"decision":"allow"', b'"decision":"deny"')
        expected = {("hash-mismatch", 5)}
    elif tamper == "delete":
        del lines[4]
        expected = {("gap", 5)}
    else:
        lines[4], lines[5] = lines[5], lines[4]
        expected = {("gap", 5), ("out-of-order", 5)}
    status, body = ship(collector, sid, lines)
    assert status == 200, body
    assert body["findings"] == len(expected)
    found = {(f["kind"], f["sequence"]) for f in collector.findings(sidecar=sid)}
    assert found == expected
    # Records are kept, never dropped, and the finding shows in verification.
    assert len(collector.records(sidecar=sid)) == len(lines)
    result = collector.json("GET", f"/v1/audit/verify?sidecar={sid}")
    assert result["ok"] is False
    assert {(f["kind"], f["sequence"]) for f in result["findings"]} >= {k for k in expected if k[0] != "out-of-order"}
    # Shipping the same batch again is idempotent: nothing new, no new findings.
    status, again = ship(collector, sid, lines)
    assert status == 200 and again["accepted"] == 0 and again["duplicates"] == len(lines)
    assert len(collector.findings(sidecar=sid)) == len(expected)


def test_integrity_findings_are_alerted_in_the_log_and_the_webhook(rein_bin):
    hook = Webhook()
    collector = Collector(rein_bin, extra_config=f"alerts:\n  webhook_url: {hook.url}\n  console_url: http://rein.internal/\n")
    try:
        register(collector, "sc-alert")
        chain = ScriptedChain("sc-alert")
        lines = [chain.seal() for _ in range(10)]
        lines[4] = lines[4].replace(b'"decision":"allow"', b'"decision":"deny"')
        del lines[7]  # sequence 8 goes missing too
        status, body = ship(collector, "sc-alert", lines)
        assert status == 200 and body["findings"] == 2, body
        def integrity_alerts():
            # The fleet watch may also post here once sc-alert has been quiet for 3 s.
            return [p for _, p in hook.posts if p["rein"]["alert"] == "audit-integrity"]

        posted = wait_for(integrity_alerts, timeout=10, what="the integrity alert")
        assert len(posted) == 1, "one message per ingest"
        alert = posted[0]
        assert alert["rein"]["alert"] == "audit-integrity" and alert["rein"]["count"] == 2
        assert {(f["kind"], f["sequence"], f["sidecar_id"]) for f in alert["rein"]["findings"]} == \
            {("hash-mismatch", 5, "sc-alert"), ("gap", 8, "sc-alert")}
        stored = {f["id"] for f in collector.findings(sidecar="sc-alert")}
        assert {f["id"] for f in alert["rein"]["findings"]} == stored
        assert "sc-alert" in alert["text"] and "hash-mismatch" in alert["text"] and "gap" in alert["text"]
        assert alert["rein"]["links"]["sc-alert"] == "http://rein.internal/v1/audit/findings?sidecar=sc-alert"
        # The log alert, with the finding's facts as metadata.
        log = collector.log_text()
        assert "audit integrity finding" in log and "finding.kind=hash-mismatch" in log and "audit.sequence=5" in log
        # An ingest without findings posts nothing.
        clean = ScriptedChain("sc-clean")
        register(collector, "sc-clean")
        assert ship(collector, "sc-clean", [clean.seal() for _ in range(5)])[0] == 200
        time.sleep(1)
        assert len(integrity_alerts()) == 1
    finally:
        collector.stop()
        hook.stop()


def test_a_failing_alert_webhook_delays_no_ingest(rein_bin):
    hook = Webhook(status=500, delay=3.0)
    collector = Collector(rein_bin, extra_config=f"alerts:\n  webhook_url: {hook.url}\n")
    try:
        register(collector, "sc-down")
        chain = ScriptedChain("sc-down")
        lines = [chain.seal() for _ in range(5)]
        del lines[1]
        started = time.time()
        status, body = ship(collector, "sc-down", lines)
        assert status == 200 and body["findings"] == 1, body
        wait_for(lambda: hook.posts, timeout=10, what="the first (failing) alert attempt")
        more = [chain.seal() for _ in range(5)]
        del more[2]
        assert ship(collector, "sc-down", more)[0] == 200
        assert time.time() - started < 3.0, "ingest waited for the webhook"
        assert len(collector.findings(sidecar="sc-down")) == 2
        # Retried with backoff in the background (the queue is serial, so the
        # second integrity post is the first one again), and logged as failing.
        def retried():
            ids = [[f["id"] for f in p["rein"]["findings"]] for _, p in hook.posts if p["rein"]["alert"] == "audit-integrity"]
            return len(ids) >= 2 and ids[0] == ids[1]

        wait_for(retried, timeout=15, what="an alert retry")
        wait_for(lambda: "alert webhook delivery failed" in collector.log_text(), timeout=10,
                 what="the failed delivery in the log")
    finally:
        collector.stop()
        hook.stop()


def test_a_sidecar_going_silent_and_coming_back_is_alerted(rein_bin):
    hook = Webhook()
    # The harness sets fleet.silent_after: 3s; the watch starts judging 3 s after the collector.
    collector = Collector(rein_bin, extra_config=f"alerts:\n  webhook_url: {hook.url}\n")
    try:
        register(collector, "sc-quiet")
        silent = wait_for(lambda: [p for _, p in hook.posts if p["rein"].get("went_silent")], timeout=15,
                          what="the silent-sidecar alert")
        assert [s["sidecar_id"] for s in silent[0]["rein"]["went_silent"]] == ["sc-quiet"]
        assert silent[0]["rein"]["alert"] == "fleet" and "sc-quiet" in silent[0]["text"]
        assert "sidecar went silent" in collector.log_text()
        # `rein fleet` exits 2 and says which sidecar, outside the table.
        env = dict(os.environ, REIN_COLLECTOR_URL=collector.url, REIN_COLLECTOR_TOKEN_FILE=collector.token_file("auditor"))
        fleet = subprocess.run([rein_bin, "fleet"], env=env, capture_output=True, timeout=60)
        assert fleet.returncode == 2 and b"1 of 1 sidecars need attention: sc-quiet (silent)" in fleet.stderr, fleet.stderr
        status, _, data = collector.call("POST", "/v1/sidecars/heartbeat", role="sidecar", body={
            "sidecar_id": "sc-quiet", "agent_id": "agent-a", "task_id": "task-1", "ready": True})
        assert status == 200, data
        back = wait_for(lambda: [p for _, p in hook.posts if p["rein"].get("reporting_again")], timeout=10,
                        what="the reporting-again alert")
        assert [s["sidecar_id"] for s in back[0]["rein"]["reporting_again"]] == ["sc-quiet"]
        # One alert per change, and never for the collector's own chain (up to
        # the reporting-again alert: 3 s later the sidecar is silent again).
        posted = [p for _, p in hook.posts]
        posted = posted[:next(i for i, p in enumerate(posted) if p["rein"].get("reporting_again")) + 1]
        assert all(s["sidecar_id"] == "sc-quiet" for p in posted for s in p["rein"]["went_silent"] + p["rein"]["reporting_again"])
        assert sum(len(p["rein"]["went_silent"]) for p in posted) == 1
    finally:
        collector.stop()
        hook.stop()


def test_roles_are_enforced_and_every_refusal_is_audited(collector, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(AGENT_POLICY.format(bucket="reports"))
    push = {"document": policy.read_text(), "message": "first"}
    # An auditor cannot push; no token is 401; a sidecar cannot read another agent's policy.
    assert collector.call("POST", "/v1/policies/agent-a", role="auditor", body=push)[0] == 403
    assert collector.call("POST", "/v1/policies/agent-a", role=None, body=push)[0] == 401
    assert collector.call("POST", "/v1/policies/agent-a", role="admin", body=push)[0] == 201
    assert collector.call("GET", "/v1/policies/agent-a", role="sidecar-other")[0] == 403
    assert collector.call("GET", "/v1/policies/agent-a", role="sidecar")[0] == 200
    # A sidecar token cannot ship records for an agent it does not serve.
    other = ScriptedChain("sc-x", agent_id="agent-a")
    assert ship(collector, "sc-x", [other.seal()], role="sidecar-other")[0] == 403
    # An approver cannot read the audit trail.
    assert collector.call("GET", "/v1/audit/records", role="approver")[0] == 403
    denied = collector.records(event="access-denied")
    assert len(denied) >= 4
    text = json.dumps(denied)
    assert "carol" in text and "sidecar-other" in text and "bob" in text
    assert "tok-" not in text, "a token leaked into the audit trail"
    changes = collector.records(event="policy-change")
    assert len(changes) == 1 and "alice" in json.dumps(changes[0])
    # A burst of 30 refusals from one client is two events that count all 30, once its second has ended.
    before = len(collector.records(event="access-denied"))
    for _ in range(30):
        assert collector.call("GET", "/v1/fleet", role="approver")[0] == 403
    def folded():
        events = [e for e in collector.records(event="access-denied") if e["operation"] == "GET /v1/fleet"]
        return len(events) == 2 and events
    events = wait_for(folded, timeout=10, what="the folded refusals to be recorded")
    assert "29 similar refusals folded into this event" in events[1]["reason"], events
    assert len(collector.records(event="access-denied")) == before + 2


def rein_policy(rein_bin, collector, role, *args):
    env = dict(os.environ, REIN_COLLECTOR_URL=collector.url, REIN_COLLECTOR_TOKEN_FILE=collector.token_file(role))
    return subprocess.run([rein_bin, "policy", *args], capture_output=True, timeout=120, env=env)


def test_policy_push_history_diff_rollback_through_the_cli(rein_bin, collector, tmp_path):
    v1 = tmp_path / "v1.yaml"
    v1.write_text(AGENT_POLICY.format(bucket="reports"))
    v2 = tmp_path / "v2.yaml"
    v2.write_text(AGENT_POLICY.format(bucket="reports-2027"))
    p = rein_policy(rein_bin, collector, "admin", "push", str(v1), "-m", "initial allowlist")
    assert p.returncode == 0, p.stderr.decode()
    assert b"version 1" in p.stdout
    p = rein_policy(rein_bin, collector, "admin", "push", str(v2), "-m", "new bucket")
    assert p.returncode == 0 and b"version 2" in p.stdout, p.stderr.decode()
    # The auditor may read but not push.
    p = rein_policy(rein_bin, collector, "auditor", "push", str(v1), "-m", "nope")
    assert p.returncode == 1 and b"AccessDenied" in p.stderr
    listed = rein_policy(rein_bin, collector, "auditor", "list")
    assert listed.returncode == 0 and b"agent-a" in listed.stdout and b"new bucket" in listed.stdout
    shown = rein_policy(rein_bin, collector, "auditor", "show", "agent-a")
    assert shown.stdout.decode() == v2.read_text()
    diff = rein_policy(rein_bin, collector, "auditor", "diff", "agent-a", "--from", "1", "--to", "2")
    assert diff.returncode == 1
    assert '-    resources: ["arn:aws:s3:::reports/*"]' in diff.stdout.decode()
    assert '+    resources: ["arn:aws:s3:::reports-2027/*"]' in diff.stdout.decode()
    same = rein_policy(rein_bin, collector, "auditor", "diff", "agent-a", "--file", str(v2))
    assert same.returncode == 0 and b"no differences" in same.stdout
    rb = rein_policy(rein_bin, collector, "admin", "rollback", "agent-a", "--to", "1", "-m", "bucket not ready")
    assert rb.returncode == 0 and b"as version 3" in rb.stdout, rb.stderr.decode()
    assert rein_policy(rein_bin, collector, "auditor", "show", "agent-a").stdout.decode() == v1.read_text()
    history = rein_policy(rein_bin, collector, "auditor", "history", "agent-a").stdout.decode()
    assert "bucket not ready" in history and "alice" in history and "initial allowlist" in history
    # Error-level lint findings block a push unless a reason is given.
    risky = tmp_path / "risky.yaml"
    risky.write_text(v1.read_text().replace('actions: [s3:GetObject]', 'actions: ["*"]').replace(
        '"arn:aws:s3:::reports/*"', '"*"'))
    blocked = rein_policy(rein_bin, collector, "admin", "push", str(risky), "-m", "everything")
    assert blocked.returncode == 1 and b"REIN-L001" in blocked.stderr, blocked.stderr.decode()
    forced = rein_policy(rein_bin, collector, "admin", "push", str(risky), "-m", "incident", "--force-reason", "break-glass INC-7")
    assert forced.returncode == 0, forced.stderr.decode()
    assert "break-glass INC-7" in rein_policy(rein_bin, collector, "auditor", "history", "agent-a").stdout.decode()
    # Rolling back to the forced version passes the same gate: it needs a reason of its own.
    assert rein_policy(rein_bin, collector, "admin", "push", str(v2), "-m", "incident over").returncode == 0
    again = rein_policy(rein_bin, collector, "admin", "rollback", "agent-a", "--to", "4", "-m", "again")
    assert again.returncode == 1 and b"REIN-L001" in again.stderr and b"force_reason" in again.stderr, again.stderr.decode()
    assert "reports-2027" in rein_policy(rein_bin, collector, "auditor", "show", "agent-a").stdout.decode()
    again = rein_policy(rein_bin, collector, "admin", "rollback", "agent-a", "--to", "4", "-m", "again",
                        "--force-reason", "break-glass INC-8")
    assert again.returncode == 0 and b"as version 6" in again.stdout, again.stderr.decode()
    # --to and --file are one or the other.
    both = rein_policy(rein_bin, collector, "auditor", "diff", "agent-a", "--to", "1", "--file", str(v2))
    assert both.returncode == 64 and b"not both" in both.stderr, both.stderr.decode()
    # Every change is an audit event, and a rollback names the version it restored.
    changes = collector.records(event="policy-change")
    assert len(changes) == 6 and "restoring version 4" in changes[-1]["reason"], changes[-1]


def test_cli_output_is_safe_to_print_and_says_its_limits(rein_bin, collector):
    """What a sidecar token writes cannot rewrite an investigator's terminal;
    limits the CLI cannot honour are said, not silently cut."""
    chain = ScriptedChain("sc-esc")
    evil = "arn:aws:s3:::b/\x1b[2J\x1b[31mFAKE\x1b[0m\r\nline2\u202e"
    assert ship(collector, "sc-esc", [chain.seal(grants=[{"action": "s3:GetObject", "resources": [evil]}])])[0] == 200
    env = dict(os.environ, REIN_COLLECTOR_URL=collector.url, REIN_COLLECTOR_TOKEN_FILE=collector.token_file("auditor"))
    q = subprocess.run([rein_bin, "audit", "query", "--sidecar", "sc-esc"], env=env, capture_output=True, timeout=60)
    assert q.returncode == 0, q.stderr.decode()
    out = q.stdout.decode()
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out and len(out.splitlines()) == 2, out
    assert "\\x1b[2J" in out and "\\x0d\\x0aline2\\u{202e}" in out, out
    # JSONL stays the record exactly (it is JSON-escaped, and verifiable).
    j = subprocess.run([rein_bin, "audit", "query", "--sidecar", "sc-esc", "--output", "jsonl"], env=env, capture_output=True, timeout=60)
    assert json.loads(j.stdout)["grants"][0]["resources"] == [evil]
    # More than one page, or a tail in a format it cannot stream: said, exit 64.
    big = subprocess.run([rein_bin, "audit", "query", "--limit", "12000"], env=env, capture_output=True, timeout=60)
    assert big.returncode == 64 and b"rein audit export" in big.stderr, big.stderr.decode()
    tail = subprocess.run([rein_bin, "audit", "tail", "--output", "ocsf", "--for-seconds", "1"], env=env, capture_output=True, timeout=60)
    assert tail.returncode == 64 and b"table or jsonl" in tail.stderr, tail.stderr.decode()
    # hash-token reads a token as the clients read a token file: a CRLF line end is not part of it.
    h = subprocess.run([rein_bin, "collector", "hash-token"], input=b"tok-0123456789abcdef0123456789abcdef\r\n", capture_output=True)
    assert h.stdout.decode().strip() == hashlib.sha256(b"tok-0123456789abcdef0123456789abcdef").hexdigest()
    two = subprocess.run([rein_bin, "collector", "hash-token"], input=b"a\nb\n", capture_output=True)
    assert two.returncode == 1 and b"spans lines" in two.stderr and not two.stdout


def test_findings_are_all_listed_and_safe_to_print(rein_bin, collector):
    """A sidecar flooding findings first cannot push another's out of
    `rein audit findings` (it reads every page), and what a finding quotes
    from a sidecar cannot rewrite the investigator's terminal."""
    noisy = ScriptedChain("sc-noisy")
    lines = []
    for _ in range(1001):
        lines.append(noisy.seal())
        noisy.sequence += 1  # every other sequence missing: a gap finding per record after the first
    assert ship(collector, "sc-noisy", lines)[0] == 200
    victim = ScriptedChain("sc-victim")
    first = victim.seal(record_id="r-\x1b[2J\x1b[Hno integrity findings\x1b[8m")
    assert ship(collector, "sc-victim", [first])[0] == 200
    again = first.replace(b'"decision":"allow"', b'"decision":"deny"')  # the same id, other content
    assert ship(collector, "sc-victim", [again])[0] == 200
    env = dict(os.environ, REIN_COLLECTOR_URL=collector.url, REIN_COLLECTOR_TOKEN_FILE=collector.token_file("auditor"))
    f = subprocess.run([rein_bin, "audit", "findings"], env=env, capture_output=True, timeout=120)
    out = f.stdout.decode()
    assert f.returncode == 1 and "\x1b" not in out, out[-2000:]
    assert len([l for l in out.splitlines() if "sc-noisy" in l]) == 1000  # a whole page before the victim's
    assert "sc-victim" in out and "\\x1b[2J" in out, out[-2000:]
    assert b"1000 gap on sc-noisy" in f.stderr and b"1 conflicting-duplicate on sc-victim" in f.stderr, f.stderr.decode()


def test_tail_shows_records_that_arrive_late(rein_bin, collector):
    """`--since` places the start; after that `rein audit tail` follows
    arrival, so a backlog shipped after an outage, or a sidecar whose clock
    is behind, still shows (its records' time is before the window)."""
    chain = ScriptedChain("sc-late")
    assert ship(collector, "sc-late", [chain.seal()])[0] == 200
    env = dict(os.environ, REIN_COLLECTOR_URL=collector.url, REIN_COLLECTOR_TOKEN_FILE=collector.token_file("auditor"))
    tail = subprocess.Popen([rein_bin, "audit", "tail", "--since", "1m", "--sidecar", "sc-late", "--output", "jsonl",
                             "--for-seconds", "6"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2)
    old = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 600))
    late = [chain.seal(time=old) for _ in range(3)] + [chain.seal()]
    assert ship(collector, "sc-late", late)[0] == 200
    out, err = tail.communicate(timeout=60)
    assert tail.returncode == 0, err.decode()
    seen = [json.loads(line)["sequence"] for line in out.decode().splitlines()]
    assert seen == [1, 2, 3, 4, 5], (seen, err.decode())


def _closed_within(sock, seconds, trickle=b"X"):
    """Sends a byte every 0.3 s until the collector closes the connection;
    the seconds that took, or None if it stayed open."""
    sock.settimeout(0.3)
    start = time.time()
    while time.time() - start < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.time() - start
        except socket.timeout:
            pass
        except OSError:
            return time.time() - start
        try:
            sock.sendall(trickle)
        except OSError:
            return time.time() - start
    return None


def test_slow_idle_and_unentitled_clients_cost_the_collector_little(rein_bin):
    """A head or a body trickled byte by byte is cut at its deadline; a token
    without the route's role is answered from the head, its body unread;
    connections beyond the cap are closed at once."""
    collector = Collector(rein_bin, extra_config="limits:\n  header_timeout: 2s\n  body_timeout: 3s\n  max_connections: 12\n")
    try:
        addr = ("127.0.0.1", collector.port)
        slow_head = socket.create_connection(addr)
        slow_head.sendall(b"GET /healthz HTTP/1.1\r\nHost: c\r\nX-Slow: ")
        took = _closed_within(slow_head, 10)
        assert took is not None and took < 6, f"a trickled head held the connection for {took} s"
        slow_head.close()
        # Also the head of a later request on a kept-alive connection.
        second = socket.create_connection(addr, timeout=5)
        second.sendall(b"GET /healthz HTTP/1.1\r\nHost: c\r\n\r\n")
        assert second.recv(4096).startswith(b"HTTP/1.1 200")
        second.sendall(b"GET /healthz HTTP/1.1\r\nHost: c\r\nX-Slow: ")
        took = _closed_within(second, 10)
        assert took is not None and took < 6, f"a trickled second head held the connection for {took} s"
        second.close()
        token = TOKENS["sidecar"]
        slow_body = socket.create_connection(addr)
        slow_body.sendall(f"POST /v1/audit/batches HTTP/1.1\r\nHost: c\r\nAuthorization: Bearer {token}\r\n"
                          f"X-Rein-Sidecar-Id: sc-slow\r\nContent-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n".encode())
        took = _closed_within(slow_body, 12)
        assert took is not None and took < 8, f"a trickled body held the connection for {took} s"
        slow_body.close()
        auditor = TOKENS["auditor"]
        wrong_role = socket.create_connection(addr, timeout=5)
        wrong_role.sendall(f"POST /v1/audit/batches HTTP/1.1\r\nHost: c\r\nAuthorization: Bearer {auditor}\r\n"
                           f"X-Rein-Sidecar-Id: sc-x\r\nContent-Length: 60000000\r\n\r\n".encode())
        answer = wrong_role.recv(4096)
        assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
        wrong_role.close()
        idle = [socket.create_connection(addr) for _ in range(12)]
        time.sleep(0.3)
        extra = socket.create_connection(addr)
        assert _closed_within(extra, 3, trickle=b"") is not None, "a connection beyond the cap was kept"
        extra.close()
        for s in idle:
            s.close()
        time.sleep(0.3)
        assert collector.call("GET", "/v1/fleet")[0] == 200
    finally:
        collector.stop()


def test_client_text_cannot_forge_a_log_line_or_an_agent_path(collector):
    """One event is one log line whatever a client sends; agent ids are
    plain names, so `agent-a/history` or `../x` never name a policy."""
    forged = "agent-x\n2026-11-30T00:00:00+0000 critical rein.collector: FORGED"
    body = {"sidecar_id": "sc-forge", "agent_id": forged, "task_id": "t", "public_key": "ab" * 32, "version": "x"}
    # An agent id is a plain name: refused before it is logged or kept anywhere.
    status, _, data = collector.call("POST", "/v1/sidecars/register", role="sidecar", body=body)
    assert status == 400 and b"agent id" in data, (status, data)
    # A refused token's request is logged on one line, and nothing forged appears.
    status, _, _ = collector.call("GET", "/v1/fleet", role=None, headers={"Authorization": "Bearer tok-forger-0000000000"})
    assert status == 401
    wait_for(lambda: "access denied" in collector.log_text(), timeout=10, what="the refusal to be logged")
    lines = collector.log_text().splitlines()
    assert not any(l.startswith("2026-11-30T00:00:00+0000 critical") for l in lines), lines[-5:]
    for bad in ["agent-a%2Fhistory", "..%2F..%2Fetc", "abc%0Adef", "x" * 129]:
        status, _, data = collector.call("GET", f"/v1/policies/{bad}", role="admin")
        assert status == 400 and b"agent id" in data, (bad, status, data)
    status, _, _ = collector.call("POST", "/v1/policies/bad%20agent", role="admin", body={"document": "x", "message": "m"})
    assert status == 400


def _vm_hwm_kb(pid):
    return next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM"))


def test_a_body_without_a_valid_token_is_never_buffered(collector, tmp_path):
    """Memory goes only to callers the collector knows: a request without a
    valid token is answered from its head (and audited), and a known
    caller's body is capped by its route."""
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (48 << 20))
    before = _vm_hwm_kb(collector.proc.pid)
    started = time.monotonic()
    for path, expected in [("/v1/audit/batches", "401"), ("/v1/policies/agent-a", "401"), ("/v1/fleet", "405")]:
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "--data-binary", f"@{big}",
                            collector.url + path], capture_output=True, timeout=60)
        assert r.stdout.decode() == expected, (path, r.stdout, r.stderr)
    assert time.monotonic() - started < 10
    # Not one of the 48 MiB bodies was held (peak resident memory grew by well under one).
    assert _vm_hwm_kb(collector.proc.pid) - before < 16 << 10
    assert collector.records(event="access-denied"), "the refusals were not audited"
    # A known caller's policy push is capped at max_request_bytes (4 MiB), not the batch cap.
    five = tmp_path / "five.bin"
    five.write_bytes(b"x" * (5 << 20))
    token = open(collector.token_file("admin")).read().strip()
    r = subprocess.run(["curl", "-s", "-w", " %{http_code}", "-X", "POST", "-H", f"Authorization: Bearer {token}",
                        "--data-binary", f"@{five}", collector.url + "/v1/policies/agent-a"], capture_output=True, timeout=60)
    assert r.stdout.decode().endswith(" 413") and b"TooLarge" in r.stdout, r.stdout[-200:]


def test_an_early_401_reaches_a_client_still_uploading(collector):
    """The collector answers a tokenless upload from its head, then reads
    and drops the rest before closing: the client gets the 401, not a reset."""
    import socket
    host, port = collector.url.rsplit("/", 1)[-1].split(":")
    body = b"\0" * (6 << 20)
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(b"POST /v1/audit/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                  + f"Content-Length: {len(body)}\r\n\r\n".encode())
        s.sendall(body)  # no reset while sending: the collector drains what it will not read
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"AccessDenied" in answer


def test_an_interrupted_export_leaves_no_file(rein_bin, tmp_path):
    """Ctrl-C mid-export removes the temporary file: nothing that looks like a trail is left."""
    import http.server
    import signal
    chain = ScriptedChain("sc-int")
    page = b"".join(chain.seal() for _ in range(3))
    stall = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if "after=" in self.path:
                stall.wait(30)  # the second page never comes
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("X-Rein-Next-Cursor", "3")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = tmp_path / "t.token"
    token.write_text("tok-x\n")
    token.chmod(0o600)
    out = tmp_path / "trail.jsonl"
    env = dict(os.environ, REIN_COLLECTOR_URL=f"http://127.0.0.1:{server.server_address[1]}", REIN_COLLECTOR_TOKEN_FILE=str(token))
    p = subprocess.Popen([rein_bin, "audit", "export", "-o", str(out)], env=env, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: list(tmp_path.glob("trail.jsonl.partial-*")), timeout=10, what="the temporary file")
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=10) == 130
        assert not list(tmp_path.glob("trail.jsonl*")), list(tmp_path.iterdir())
    finally:
        if p.poll() is None:
            p.kill()
        stall.set()
        server.shutdown()


def test_check_config_says_what_run_would_read(rein_bin, collector, tmp_path):
    """`rein collector check-config` reads the configuration as `run` does, says
    what it sets, and fails with run's exit code on what run would refuse, so
    that a file can be checked before SIGHUP applies it."""
    ok = subprocess.run([rein_bin, "collector", "check-config", "--config", str(collector.config_path)],
                        capture_output=True, timeout=60)
    out = ok.stdout.decode()
    assert ok.returncode == 0, ok.stderr.decode()
    assert out.startswith("configuration OK: ") and "plain HTTP" in out, out
    assert "tokens     7 (sidecar: sidecar-a, sidecar-other, sidecar-web; admin: alice; approver: bob; auditor: carol; metrics: prometheus)" in out, out
    assert TOKENS["admin"] not in out

    broken = tmp_path / "broken.yaml"
    broken.write_text(collector.config_path.read_text().replace("roles: [auditor]", "roles: [auditors]"))
    bad = subprocess.run([rein_bin, "collector", "check-config", "--config", str(broken)], capture_output=True, timeout=60)
    assert bad.returncode == 78 and b"rein: configuration: tokens[4].roles" in bad.stderr and b"auditors" in bad.stderr, bad.stderr

    # TLS: the certificate is loaded, its end date said, and one close to it warned about.
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=tmp_path)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tls.key",
            "-out", "tls.pem", "-days", "3", "-subj", "/CN=127.0.0.1")
    os.chmod(tmp_path / "tls.key", 0o600)
    tls = subprocess.run([rein_bin, "collector", "check-config", "--config", str(collector.config_path),
                          "--tls-certificate", str(tmp_path / "tls.pem"), "--tls-key", str(tmp_path / "tls.key")],
                         capture_output=True, timeout=60)
    assert tls.returncode == 0, tls.stderr.decode()
    assert "(TLS, certificate " in tls.stdout.decode() and "(2 days)" in tls.stdout.decode(), tls.stdout.decode()
    assert b"rein: warning: the TLS certificate expires in" in tls.stderr
    os.chmod(tmp_path / "tls.key", 0o644)
    shared = subprocess.run([rein_bin, "collector", "check-config", "--config", str(collector.config_path),
                             "--tls-certificate", str(tmp_path / "tls.pem"), "--tls-key", str(tmp_path / "tls.key")],
                            capture_output=True, timeout=60)
    assert shared.returncode == 78 and b"chmod 600" in shared.stderr, shared.stderr
