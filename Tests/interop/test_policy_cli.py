"""`rein policy validate` and `rein policy explain` from the command line."""

import base64
import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "Deploy/examples/policy.yaml"
AT = "2026-11-18T00:00:00Z"


def rein(rein_bin, *args, stdin=None):
    return subprocess.run([rein_bin, "policy", *args], input=stdin, capture_output=True, timeout=120)


def test_example_validates(rein_bin):
    proc = rein(rein_bin, "validate", str(EXAMPLE), "--at", AT)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"valid (5 statements" in proc.stdout


def test_invalid_policy_reports_line_and_column(rein_bin, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("s3:GetObject]", "s3:GetObjekt]").replace("effect: hold", "effect: maybe"))
    proc = rein(rein_bin, "validate", str(bad), "--at", AT)
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert f"{bad}:" in err and "REIN-P004" in err and "effect must be allow, deny or hold" in err
    # The line:column points into the file.
    line = [l for l in err.splitlines() if "REIN-P004" in l][0]
    row = int(line.split(":")[1])
    assert "maybe" in bad.read_text().splitlines()[row - 1]


def test_explain_allow_hold_deny(rein_bin):
    def decide(action, resource, *extra):
        proc = rein(rein_bin, "explain", "--policy", str(EXAMPLE), "--action", action, "--resource", resource,
                    "--region", "eu-west-1", "--at", AT, "--json", *extra)
        return proc.returncode, json.loads(proc.stdout)
    code, out = decide("s3:GetObject", "arn:aws:s3:::sales-data/2026/q3.csv")
    assert code == 0 and out["decision"] == "allow" and out["statement"] == "read-sales-data"
    code, out = decide("s3:DeleteObject", "arn:aws:s3:::sales-reports/q3/old.pdf")
    assert code == 0 and out["decision"] == "hold" and out["statement"] == "deletes-need-approval"
    code, out = decide("iam:CreateAccessKey", "arn:aws:iam::123456789012:user/x")
    assert code == 1 and out["decision"] == "deny" and out["statement"] == "no-iam"
    code, out = decide("s3:ListBucket", "arn:aws:s3:::sales-data", "--context", "s3:prefix=2025/")
    assert code == 1 and out["decision"] == "deny" and "no statement" in out["reason"]
    code, out = decide("s3:GetObject", "arn:aws:s3:::sales-data/2026/q3.csv", "--at", "2026-12-01T00:00:00Z")
    assert code == 1 and "expired" in out["reason"]


def test_explain_a_captured_request(rein_bin, tmp_path):
    # A recorded boto3 GetObject: the catalog names s3:GetObject on its object.
    rec = next(json.loads(l) for l in (REPO / "Tests/interop/catalog_corpus/corpus.jsonl").read_text().splitlines()
               if json.loads(l)["operation"] == "GetObject" and json.loads(l)["resources"] != ["*"])
    raw = tmp_path / "get.http"
    raw.write_bytes(base64.b64decode(rec["request"]))
    policy = tmp_path / "p.yaml"
    bucket_object = rec["resources"][0]
    policy.write_text(f"""apiVersion: rein.dev/v1alpha1
kind: TaskPolicy
agent: {{id: a, owner: o}}
task: {{id: t, purpose: p}}
statements:
  - id: read-it
    effect: allow
    actions: [s3:GetObject]
    resources: ["{bucket_object}"]
""")
    proc = rein(rein_bin, "explain", "--policy", str(policy), "--request", str(raw), "--account", "123456789012", "--json")
    out = json.loads(proc.stdout)
    assert proc.returncode == 0 and out["decision"] == "allow", out
    assert out["pairs"][0]["action"] == "s3:GetObject" and out["pairs"][0]["resource"] == bucket_object


def test_session_policy_is_iam_json(rein_bin):
    proc = rein(rein_bin, "session-policy", str(EXAMPLE))
    assert proc.returncode == 0, proc.stderr.decode()
    policy = json.loads(proc.stdout)
    assert policy["Version"] == "2012-10-17"
    effects = {s["Sid"]: s["Effect"] for s in policy["Statement"]}
    assert effects["readsalesdata"] == "Allow" and effects["deletesneedapproval"] == "Allow" and effects["noiam"] == "Deny"
    assert len(proc.stdout.strip()) <= 2048
    assert b"exact" in proc.stderr


def test_suggest_from_audit_jsonl(rein_bin, tmp_path):
    audit = tmp_path / "audit.jsonl"
    audit.write_text("\n".join(json.dumps(r) for r in [
        {"agent_id": "w", "task_id": "t", "decision": "allow", "grants": [{"action": "s3:GetObject", "resources": ["arn:aws:s3:::b/k1"]}]},
        {"agent_id": "w", "task_id": "t", "decision": "allow", "grants": [{"action": "sqs:SendMessage", "resources": ["arn:aws:sqs:us-east-1:123456789012:q"]}]},
        {"agent_id": "w", "task_id": "t", "decision": "deny", "grants": [{"action": "iam:CreateUser", "resources": ["arn:aws:iam::123456789012:user/x"]}]},
    ]) + "\n")
    proc = subprocess.run([rein_bin, "policy", "suggest", "--from", str(audit), "--owner", "team@example.com"],
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    suggested = tmp_path / "suggested.yaml"
    suggested.write_bytes(proc.stdout)
    text = proc.stdout.decode()
    assert "s3:GetObject" in text and "sqs:SendMessage" in text and "iam:CreateUser" not in text
    # The suggestion is a valid policy that allows what was observed.
    assert rein(rein_bin, "validate", str(suggested)).returncode == 0
    ok = rein(rein_bin, "explain", "--policy", str(suggested), "--action", "s3:GetObject", "--resource", "arn:aws:s3:::b/k1")
    assert ok.returncode == 0
    no = rein(rein_bin, "explain", "--policy", str(suggested), "--action", "s3:GetObject", "--resource", "arn:aws:s3:::b/k2")
    assert no.returncode == 1


def test_suggest_from_a_torn_file_is_a_data_error(rein_bin, tmp_path):
    """A torn last line (a full disk) is the file's fault: exit 65 with the
    line, not the usage text of a wrong command line."""
    audit = tmp_path / "audit.jsonl"
    good = {"agent_id": "w", "task_id": "t", "decision": "allow", "grants": [{"action": "s3:GetObject", "resources": ["arn:aws:s3:::b/k"]}]}
    audit.write_text(json.dumps(good) + "\n" + json.dumps(good)[:40])
    proc = rein(rein_bin, "suggest", "--from", str(audit))
    assert proc.returncode == 65, proc
    assert b"line 2" in proc.stderr and b"Usage" not in proc.stderr, proc.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert rein(rein_bin, "suggest", "--from", str(empty)).returncode == 65
    assert rein(rein_bin, "suggest", "--from", str(tmp_path / "missing.jsonl")).returncode == 1


def test_lint_text_and_sarif(rein_bin, tmp_path):
    clean = rein(rein_bin, "lint", str(EXAMPLE), "--at", AT)
    assert clean.returncode == 0 and b"0 finding(s)" in clean.stdout
    risky = tmp_path / "risky.yaml"
    risky.write_text("""apiVersion: rein.dev/v1alpha1
kind: TaskPolicy
agent: {id: a, owner: o}
task: {id: t, purpose: p}
statements:
  - id: everything
    effect: allow
    actions: ["*"]
    resources: ["*"]
  - id: mint
    effect: allow
    actions: [iam:CreateAccessKey]
    resources: ["arn:aws:iam::123456789012:user/bot"]
""")
    text = rein(rein_bin, "lint", str(risky), "--at", AT)
    assert text.returncode == 1
    out = text.stdout.decode()
    assert "REIN-L001" in out and "REIN-L005" in out and "REIN-L011" in out
    assert f"{risky}:6:" in out or f"{risky}:6" in out  # the statement's line
    sarif = json.loads(rein(rein_bin, "lint", str(risky), "--at", AT, "--format", "sarif").stdout)
    assert sarif["version"] == "2.1.0"
    rules = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert {"REIN-L001", "REIN-L005", "REIN-L011"} <= rules


def test_cli_sarif_validates_against_the_schema(rein_bin, tmp_path):
    import jsonschema
    schema = json.loads((REPO / "Tests/interop/schemas/sarif-schema-2.1.0.json").read_text())
    risky = tmp_path / "r.yaml"
    risky.write_text("""apiVersion: rein.dev/v1alpha1
kind: TaskPolicy
agent: {id: a, owner: o}
task: {id: t, purpose: p, notAfter: 2026-11-20T00:00:00Z}
statements:
  - {id: s, effect: allow, actions: ["s3:*"], resources: ["*"]}
""")
    log = json.loads(rein(rein_bin, "lint", str(risky), "--at", AT, "--format", "sarif").stdout)
    jsonschema.validate(log, schema)
    assert log["runs"][0]["results"], "expected findings"


def test_explain_a_captured_audit_record(rein_bin, tmp_path):
    rec = tmp_path / "call.json"
    rec.write_text(json.dumps({"service": "s3", "operation": "CopyObject", "decision": "allow", "grants": [
        {"action": "s3:PutObject", "resources": ["arn:aws:s3:::sales-reports/q3/copy.csv"]},
        {"action": "s3:GetObject", "resources": ["arn:aws:s3:::sales-data/2026/q3.csv"]}]}))
    proc = rein(rein_bin, "explain", "--policy", str(EXAMPLE), "--request", str(rec), "--region", "eu-west-1", "--at", AT, "--json")
    out = json.loads(proc.stdout)
    assert proc.returncode == 0 and out["decision"] == "allow", out
    assert [p["statement"] for p in out["pairs"]] == ["write-report", "read-sales-data"]


def test_session_policy_refuses_an_allowlist_granting_everything(rein_bin, tmp_path):
    p = tmp_path / "all.yaml"
    p.write_text("apiVersion: rein.dev/v1alpha1\nkind: TaskPolicy\nagent: {id: a, owner: o}\ntask: {id: t, purpose: p}\n"
                 "statements:\n  - {id: all, effect: allow, actions: ['*'], resources: ['*']}\n")
    proc = rein(rein_bin, "session-policy", str(p))
    assert proc.returncode == 1 and b"grants every action" in proc.stderr
