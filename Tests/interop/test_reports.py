"""Framework-alignment reports over a scripted fleet in a real collector:

- agent-good: a clean allowlist, ASIA keys, short-lived broker, denials, a hold
  approved by an independent approver, a signed checkpoint;
- agent-wild: an allowlist granting `*` on `*` (pushed with a forced reason);
- agent-silent: its sidecar stopped heartbeating;
- agent-tampered: one record edited after sealing;
- agent-held: a hold approved by the approver who owns the agent.

Asserts the exact statuses and findings each one causes, byte-identical JSON,
trestle validation of the OSCAL output, and a headless-Chromium render of the
HTML with no console errors and no empty charts.
"""

import hashlib
import json
import re
import shutil
import struct
import subprocess
import sys
import time
import urllib.parse
import uuid
import zlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from collector_harness import TOKENS, Collector, ScriptedChain, sha256_hex, ship
from sidecar_harness import clean_env

REPO = Path(__file__).resolve().parents[2]
AGENTS = ("agent-good", "agent-wild", "agent-silent", "agent-tampered", "agent-held")
OLGA = "tok-olga-owner-approver-0123456789"

GOOD_POLICY = """apiVersion: rein.dev/v1alpha1
kind: TaskPolicy
agent: {id: agent-good, owner: dana@example.com}
task: {id: task-good, purpose: Read reports, notBefore: 2026-11-01T00:00:00Z, notAfter: 2026-12-04T00:00:00Z}
mode: enforce
statements:
  - id: read-reports
    effect: allow
    actions: [s3:GetObject]
    resources: ["arn:aws:s3:::reports-q4/*"]
  - id: deletes-need-approval
    effect: hold
    actions: [s3:DeleteObject]
    resources: ["arn:aws:s3:::reports-q4/prod/*"]
"""

WILD_POLICY = """apiVersion: rein.dev/v1alpha1
kind: TaskPolicy
agent: {id: agent-wild, owner: ed@example.com}
task: {id: task-wild, purpose: Anything, notBefore: 2026-11-01T00:00:00Z, notAfter: 2026-12-04T00:00:00Z}
mode: enforce
statements:
  - id: everything
    effect: allow
    actions: ["*"]
    resources: ["*"]
"""


class Signer:
    """A sidecar's Ed25519 checkpoint key, in Python."""

    def __init__(self):
        self.key = Ed25519PrivateKey.generate()
        self.public_hex = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def checkpoint(self, chain):
        t = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        message = f"rein.checkpoint/v1\n{chain.sidecar_id}\n{chain.sequence}\n{chain.head}\n{t}\n".encode()
        body = {"hash": chain.head, "public_key": self.public_hex, "schema": "rein.checkpoint/v1", "sequence": chain.sequence,
                "sidecar_id": chain.sidecar_id, "signature": self.key.sign(message).hex(), "time": t}
        return (json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n").encode()


def call(chain, n, key="ASIAGOODAGENTKEY", **fields):
    base = {"access_key_id": key, "broker_source": "assume_role", "task_id": f"task-{chain.agent_id.split('-')[1]}",
            "statement_id": "read-reports", "policy_version": "1",
            "latency": {"verify_ms": 0.02, "decide_ms": 0.03, "upstream_ms": 1.5, "total_ms": 1.7}}
    base.update(fields)
    return [chain.seal(**base) for _ in range(n)]


def hold_event(chain, event, approver, hold_id):
    return chain.seal(event=event, decision="hold-approved" if event == "hold-approved" else "hold", approver=approver,
                      hold_id=hold_id, forwarded=False, access_key_id="ASIAGOODAGENTKEY", via="holds",
                      operation="DeleteObject", task_id=f"task-{chain.agent_id.split('-')[1]}",
                      grants=[{"action": "s3:DeleteObject", "resources": ["arn:aws:s3:::reports-q4/prod/x.csv"]}])


def register(collector, sidecar, agent, signer):
    status, _, data = collector.call("POST", "/v1/sidecars/register", role="sidecar",
                                     body={"sidecar_id": sidecar, "agent_id": agent, "task_id": f"task-{agent.split('-')[1]}",
                                           "public_key": signer.public_hex, "version": "test"})
    assert status == 200, data


def heartbeat(collector, sidecar, agent):
    status, _, data = collector.call("POST", "/v1/sidecars/heartbeat", role="sidecar",
                                     body={"sidecar_id": sidecar, "agent_id": agent, "ready": True, "spool_depth": 0})
    assert status == 200, data


def push(collector, agent, document, force_reason=None):
    body = {"document": document, "message": f"allowlist for {agent}"}
    if force_reason:
        body["force_reason"] = force_reason
    status, _, data = collector.call("POST", f"/v1/policies/{agent}", role="admin", body=body)
    assert status == 201, data


@pytest.fixture(scope="module")
def fleet(rein_bin):
    extra = f"""  - name: olga
    roles: [approver]
    sha256: {sha256_hex(OLGA)}
    owns_agents: [agent-held]
compliance_dir: {REPO / 'Compliance'}
"""
    collector = Collector(rein_bin, agents=AGENTS, extra_config=extra)
    push(collector, "agent-good", GOOD_POLICY)
    push(collector, "agent-wild", WILD_POLICY, force_reason="test fixture: an over-privileged agent")
    ids = {}
    for agent in AGENTS:
        sidecar = "sc-" + agent.split("-")[1]
        signer = Signer()
        register(collector, sidecar, agent, signer)
        chain = ScriptedChain(sidecar, agent_id=agent)
        lines = []
        if agent == "agent-good":
            lines += call(chain, 20)
            lines += call(chain, 3, decision="deny", forwarded=False, error_code="AccessDenied", statement_id=None)
            lines.append(hold_event(chain, "hold-created", None, "h-good0001"))
            lines.append(hold_event(chain, "hold-approved", "bob", "h-good0001"))
        elif agent == "agent-held":
            lines += call(chain, 5)
            lines.append(hold_event(chain, "hold-created", None, "h-held0001"))
            lines.append(hold_event(chain, "hold-approved", "olga", "h-held0001"))
            ids["wrong-party-record"] = json.loads(lines[-1])["record_id"]
        elif agent == "agent-tampered":
            lines += call(chain, 6)
            edited = json.loads(lines[3])
            claimed = edited.pop("hash")
            edited["operation"] = "DeleteObject"  # edited after sealing: its hash no longer matches
            body = json.dumps(edited, sort_keys=True, separators=(",", ":"))
            lines[3] = (body[:-1] + f',"hash":"{claimed}"}}\n').encode()
            ids["tampered-record"] = edited["record_id"]
        else:
            lines += call(chain, 8)
        lines.append(signer.checkpoint(chain))
        status, body = ship(collector, sidecar, lines)
        assert status == 200, body
    # The silent sidecar stops here; the others keep heartbeating (silent_after is 3 s).
    time.sleep(3.5)
    yield collector, ids
    collector.stop()


def fresh_heartbeats(collector):
    for agent in AGENTS:
        if agent != "agent-silent":
            heartbeat(collector, "sc-" + agent.split("-")[1], agent)


PERIOD = {}


def report(collector, fmt="json", framework="all", **scope):
    if not PERIOD:
        now = time.time()
        PERIOD["since"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 86400))
        PERIOD["until"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600))
    fresh_heartbeats(collector)
    q = {"framework": framework, "format": fmt, **PERIOD, **scope}
    status, headers, data = collector.call("GET", "/v1/reports?" + urllib.parse.urlencode(q), role="auditor")
    assert status == 200, data[:500]
    return data


def statuses(doc):
    return {(f["framework"]["id"], c["id"]): c["status"] for f in doc["frameworks"] for c in f["controls"]}


def control(doc, framework, cid):
    fw = next(f for f in doc["frameworks"] if f["framework"]["id"] == framework)
    return next(c for c in fw["controls"] if c["id"] == cid)


def test_fleet_report_names_every_problem(fleet):
    collector, ids = fleet
    doc = json.loads(report(collector))
    assert doc["integrity"]["state"] == "broken"
    assert sorted(doc["agents"]) == sorted(AGENTS)
    kinds = sorted((f["kind"], f.get("agent_id") or f.get("sidecar_id")) for f in doc["findings"])
    assert kinds == [
        ("integrity-finding", "sc-tampered"),
        ("privilege-escalation", "agent-wild"),
        ("silent-sidecar", "agent-silent"),
        ("wildcard-grant", "agent-wild"),
        ("wrong-party-approval", "agent-held"),
    ], kinds
    wild = next(f for f in doc["findings"] if f["kind"] == "wildcard-grant")
    assert wild["policy_version"] == "1" and wild["remediation"]
    wrong = next(f for f in doc["findings"] if f["kind"] == "wrong-party-approval")
    assert wrong["record_id"] == ids["wrong-party-record"] and wrong["hold_id"] == "h-held0001" and "olga" in wrong["detail"]
    tampered = next(f for f in doc["findings"] if f["kind"] == "integrity-finding")
    assert "sequence 4" in tampered["detail"]
    s = statuses(doc)
    assert s[("owasp-nhi-top10-2025", "NHI5:2025")] == "gap"
    assert s[("owasp-agentic-top10-2026", "ASI09")] == "gap"
    assert s[("owasp-agentic-top10-2026", "ASI10")] == "gap"
    assert s[("csa-maestro", "Layer 5")] == "gap"
    assert s[("nist-ai-rmf-1.0", "MEASURE 2.8")] == "gap"
    assert s[("nist-ai-rmf-1.0", "GOVERN 1.1")] == "attestation-needed"
    assert s[("owasp-nhi-top10-2025", "NHI7:2025")] == "evidenced"
    # Every NIST subcategory is reported; most need an attestation.
    nist = next(f for f in doc["frameworks"] if f["framework"]["id"] == "nist-ai-rmf-1.0")
    assert len(nist["controls"]) == 72 and nist["status_counts"]["attestation-needed"] >= 30
    evidence = control(doc, "owasp-nhi-top10-2025", "NHI7:2025")["evidence"]
    assert all(e["present"] and e["count"] > 0 for e in evidence if e["strength"] == "strong")
    assert any(e["samples"] for e in evidence)


def test_the_well_governed_agent_is_evidenced(fleet):
    collector, _ = fleet
    doc = json.loads(report(collector, agent="agent-good"))
    assert doc["integrity"]["state"] == "verified" and doc["findings"] == []
    s = statuses(doc)
    assert s[("owasp-nhi-top10-2025", "NHI5:2025")] == "evidenced"
    assert s[("owasp-nhi-top10-2025", "NHI7:2025")] == "evidenced"
    assert s[("csa-maestro", "Layer 5")] == "evidenced"
    assert s[("nist-ai-rmf-1.0", "MEASURE 2.8")] == "evidenced"
    assert s[("owasp-agentic-top10-2026", "ASI09")] == "partial"   # holds decided by an independent approver; no strong signal
    assert s[("owasp-agentic-top10-2026", "ASI10")] == "partial"
    assert s[("nist-ai-rmf-1.0", "GOVERN 1.1")] == "attestation-needed"
    assert not any(v == "gap" for v in s.values()), [k for k, v in s.items() if v == "gap"]


@pytest.mark.parametrize("agent,framework,cid,kinds", [
    # `*` on `*` is both a wildcard grant and a privilege-escalation path.
    ("agent-wild", "owasp-nhi-top10-2025", "NHI5:2025", ["privilege-escalation", "wildcard-grant"]),
    ("agent-silent", "owasp-agentic-top10-2026", "ASI10", ["silent-sidecar"]),
    ("agent-tampered", "nist-ai-rmf-1.0", "MEASURE 2.8", ["integrity-finding"]),
    ("agent-held", "owasp-agentic-top10-2026", "ASI09", ["wrong-party-approval"]),
])
def test_each_problem_agent_gets_its_gap(fleet, agent, framework, cid, kinds):
    collector, _ = fleet
    doc = json.loads(report(collector, agent=agent))
    c = control(doc, framework, cid)
    assert c["status"] == "gap", c
    assert [f["kind"] for f in c["findings"]] == kinds
    assert doc["integrity"]["state"] == ("broken" if agent == "agent-tampered" else "verified")


def test_same_data_and_period_give_byte_identical_json(fleet):
    collector, _ = fleet
    for fmt in ("json", "oscal", "json"):
        first, second = report(collector, fmt=fmt), report(collector, fmt=fmt)
        if first != second:
            import difflib
            diff = "\n".join(difflib.unified_diff(first.decode().splitlines(), second.decode().splitlines(), lineterm="", n=3))
            raise AssertionError(f"two {fmt} reports over the same data and period differ:\n" + diff[:3000])


def test_formats_and_the_cli(rein_bin, fleet, tmp_path):
    collector, _ = fleet
    env = clean_env()
    env.update({"REIN_COLLECTOR_URL": collector.url, "REIN_COLLECTOR_TOKEN_FILE": collector.token_file("auditor")})
    fresh_heartbeats(collector)
    for fmt in ("json", "md", "html", "csv", "oscal"):
        out = tmp_path / f"report.{fmt}"
        proc = subprocess.run([rein_bin, "report", "--framework", "all", "--since", PERIOD["since"], "--until", PERIOD["until"],
                               "--format", fmt, "-o", str(out)], env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert "integrity findings" in proc.stderr
        assert out.stat().st_size > 1000
    md = (tmp_path / "report.md").read_text()
    assert md.index("NOT intact") < md.index("## Summary")
    csv_lines = (tmp_path / "report.csv").read_text().splitlines()
    assert csv_lines[0].startswith("framework,control_id") and len(csv_lines) == 1 + 72 + 10 + 10 + 7
    # --fail-on-gap exits 3 for CI; a single framework by its short name works.
    proc = subprocess.run([rein_bin, "report", "--framework", "nist-ai-rmf", "--fail-on-gap"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    # Reports need the auditor (or admin) role.
    status, _, _ = collector.call("GET", "/v1/reports", role="sidecar")
    assert status == 403
    # Bad input gets a clear error.
    status, _, data = collector.call("GET", "/v1/reports?framework=iso-42001", role="auditor")
    assert status == 400 and b"nist-ai-rmf" in data


def test_oscal_validates_with_trestle(fleet, tmp_path):
    collector, _ = fleet
    path = tmp_path / "assessment-results.json"
    path.write_bytes(report(collector, fmt="oscal"))
    doc = json.loads(path.read_text())
    ar = doc["assessment-results"]
    uuid_v45 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[45][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert uuid_v45.match(ar["uuid"])
    results = ar["results"]
    assert len(results) == 4
    nist = next(r for r in results if "NIST" in r["title"])
    assert len(nist["findings"]) == 72
    assert all(uuid_v45.match(o["uuid"]) for r in results for o in r.get("observations", []))
    # `python3 -m trestle`: works wherever pip put the package, on PATH or not.
    trestle = [sys.executable, "-m", "trestle"]
    proc = subprocess.run(trestle + ["partial-object-validate", "-f", str(path), "-e", "assessment-results"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # A broken document fails the same validation (the check can fail).
    ar["uuid"] = "not-a-uuid"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    proc = subprocess.run(trestle + ["partial-object-validate", "-f", str(bad), "-e", "assessment-results"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode != 0


def png_pixels_vary(path):
    """True when the PNG is not one flat colour (decodes IDAT, no imaging library)."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    return len(set(raw[i:i + 3] for i in range(0, min(len(raw), 4_000_000), 997))) > 10


def test_html_renders_in_headless_chromium(fleet, tmp_path):
    collector, _ = fleet
    html = tmp_path / "report.html"
    html.write_bytes(report(collector, fmt="html"))
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is installed by Tools/bootstrap.sh"
    png = tmp_path / "report.png"
    base = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    shot = subprocess.run(base + [f"--screenshot={png}", "--window-size=1200,4000", html.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert png.exists() and png.stat().st_size > 10_000, shot.stderr[-2000:]
    console = [l for l in shot.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
    assert console == [], console
    assert png_pixels_vary(png)
    dom = subprocess.run(base + ["--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    charts = re.findall(r'<svg class="chart".*?</svg>', page, flags=re.S)
    assert len(charts) == 2, "decisions over time and by agent"
    for chart in charts:
        assert len(re.findall(r"<rect ", chart)) >= 2, "no empty charts"
    assert page.index("NOT intact") < page.index("Summary")
    assert "<script" not in page


def test_a_period_before_the_fleet_existed_claims_no_fleet_evidence(fleet):
    """Sidecars registered after a period are no evidence for it."""
    collector, _ = fleet
    q = {"framework": "all", "format": "json", "since": "2020-01-01T00:00:00Z", "until": "2020-02-01T00:00:00Z"}
    status, _, data = collector.call("GET", "/v1/reports?" + urllib.parse.urlencode(q), role="auditor")
    assert status == 200, data[:300]
    doc = json.loads(data)
    assert doc["integrity"]["state"] == "no-data" and doc["agents"] == [], doc["agents"]
    for framework in doc["frameworks"]:
        for c in framework["controls"]:
            for e in c.get("evidence", []):
                assert not (e["signal"].startswith("fleet-") and e["present"]), (c["id"], e)
