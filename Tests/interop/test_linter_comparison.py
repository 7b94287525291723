"""`rein policy lint` against cloudsplaining and parliament, over a committed corpus.

Every policy in Tests/interop/policy_corpus/NN-name.yaml is judged three ways:

- Rein: `rein policy lint FILE --format sarif` (rule ids REIN-L0xx);
- cloudsplaining (Salesforce): `scan_policy` on the equivalent IAM policy,
  its finding categories (PrivilegeEscalation, DataExfiltration, ...);
- parliament (Duo Labs): `analyze_policy_string` on the same IAM policy, with
  the community auditors, filtered as its CLI filters (minimum severity LOW),
  its issue codes (RESOURCE_STAR, PRIVILEGE_ESCALATION, ...).

The IAM policy comes from policy_corpus/to_iam.py (allow and hold become
Allow, deny stays Deny, conditions carried over; the task window, mode and
quotas have no IAM equivalent and are dropped); its output is committed in
policy_corpus/iam/ so reviewers can read what the tools saw.

policy_corpus/expectations.yaml records, per policy, Rein's rule ids and each
tool's raw output, and explains every disagreement. The tests assert:

(a) Rein reports exactly the recorded rule ids (and a well-formed SARIF log,
    exit 1 exactly when an error-level result exists);
(b) each tool reports exactly its recorded output, so a tool upgrade that
    changes a verdict is noticed;
(c) after mapping all three to one vocabulary of categories (CATEGORY maps
    below), every category on which Rein and a tool differ has a recorded
    explanation, and no explanation is stale.

Run with `-s` for a policy x tool table. Both tools run offline (their IAM
data is bundled in their packages).
"""

import contextlib
import functools
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "policy_corpus"
sys.path.insert(0, str(CORPUS))
import to_iam  # noqa: E402  (the corpus's converter, not an installed package)

EXPECTATIONS = yaml.safe_load((CORPUS / "expectations.yaml").read_text())
POLICIES = [p.stem for p in to_iam.corpus(CORPUS)]
TOOLS = ("cloudsplaining", "parliament")

# The lint is run as of a fixed time so the corpus's task windows mean the
# same thing on every run, and for a fixed home account (the corpus's own
# resources live in 111122223333; 444455556666 is "another account").
LINT_AT = EXPECTATIONS["lint"]["at"]
LINT_ACCOUNT = str(EXPECTATIONS["lint"]["account"])

# One vocabulary for all three tools. A tool's finding maps to the categories
# it is evidence of; two tools agree on a policy when they map to the same
# category set.
REIN_CATEGORIES = {
    "REIN-L001": {"service-wildcard", "wildcard-resource"},  # FullAccess: `*` on `*` is both
    "REIN-L002": {"service-wildcard"},        # ServiceWideAccess
    "REIN-L003": {"broad-action"},            # BroadActionPattern
    "REIN-L004": {"wildcard-resource"},       # BroadResource
    "REIN-L005": {"credentials"},             # CredentialMinting
    "REIN-L006": {"sensitive-read"},          # SecretRead
    "REIN-L007": {"code-execution"},          # CodeExecution
    "REIN-L008": {"privilege-escalation"},    # PrivilegeEscalation
    "REIN-L009": {"resource-exposure"},       # ResourceExposure
    "REIN-L010": {"cross-account"},           # CrossAccountResource
    "REIN-L011": {"expiry"},                  # MissingExpiry
    "REIN-L012": {"expiry"},                  # ExpiredTask
    "REIN-L013": {"expiry"},                  # LongTask
}
CLOUDSPLAINING_CATEGORIES = {
    "ServiceWildcard": {"service-wildcard"},
    "PrivilegeEscalation": {"privilege-escalation"},
    "DataExfiltration": {"sensitive-read"},   # s3:GetObject, ssm:GetParameter*, secretsmanager:GetSecretValue on '*'
    "ResourceExposure": {"resource-exposure"},  # "Permissions management" actions on '*'
    "CredentialsExposure": {"credentials"},
    "InfrastructureModification": {"wildcard-resource"},  # write/modify actions on '*'
}
PARLIAMENT_CATEGORIES = {
    "RESOURCE_STAR": {"wildcard-resource"},
    "RESOURCE_EFFECTIVELY_STAR": {"wildcard-resource"},
    "CREDENTIALS_EXPOSURE": {"credentials"},
    "PRIVILEGE_ESCALATION": {"privilege-escalation"},
    "PERMISSIONS_MANAGEMENT_ACTIONS": {"resource-exposure"},
    "RESOURCE_POLICY_PRIVILEGE_ESCALATION": {"resource-exposure"},
    "SENSITIVE_ACCESS": {"sensitive-read"},
}
# Anything else a tool says (parliament's RESOURCE_MISMATCH, UNKNOWN_ACTION,
# ...) is its own category, `tool:CODE`, which Rein never reports: each such
# finding needs its explanation like any other disagreement.


def categories(tool, outputs):
    table = {"rein": REIN_CATEGORIES, "cloudsplaining": CLOUDSPLAINING_CATEGORIES,
             "parliament": PARLIAMENT_CATEGORIES}[tool]
    out = set()
    for item in outputs:
        out |= table.get(item, {f"{tool}:{item}"})
    return out


# -- Rein ------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def lint_help(rein_bin):
    proc = subprocess.run([rein_bin, "policy", "lint", "--help"], capture_output=True, text=True, timeout=60)
    text = proc.stdout + proc.stderr
    return text if proc.returncode == 0 and re.search(r"USAGE: rein policy lint\b", text) else None


@pytest.fixture(scope="module")
def lint(rein_bin):
    """Runs `rein policy lint --format sarif` on a corpus policy; skips when the
    binary has no lint subcommand."""
    help_text = lint_help(rein_bin)
    if help_text is None:
        pytest.skip("rein policy lint not available")
    return functools.partial(run_rein, rein_bin)


@functools.lru_cache(maxsize=None)
def run_rein(rein_bin, name):
    help_text = lint_help(rein_bin)
    args = [rein_bin, "policy", "lint", str(CORPUS / f"{name}.yaml"), "--format", "sarif", "--at", LINT_AT]
    if "--account" in help_text:
        args += ["--account", LINT_ACCOUNT]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), f"{name}: rein exited {proc.returncode}: {proc.stderr}"
    try:
        log = json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"{name}: SARIF is not JSON ({e}): {proc.stdout[:500]}\n{proc.stderr}")
    return proc.returncode, log


def sarif_rule_ids(log):
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1, log
    results = log["runs"][0]["results"]
    for r in results:
        assert re.fullmatch(r"REIN-L\d{3}", r["ruleId"]), r
        assert r["level"] in ("error", "warning", "note"), r
        assert r["message"]["text"], r
    return sorted({r["ruleId"] for r in results}), results


# -- cloudsplaining and parliament -------------------------------------------


@functools.lru_cache(maxsize=None)
def iam_policy(name):
    return json.dumps(to_iam.convert_file(CORPUS / f"{name}.yaml"))


@functools.lru_cache(maxsize=None)
def run_cloudsplaining(name):
    """cloudsplaining's finding categories with at least one finding, as
    `cloudsplaining scan-policy-file` computes them (default exclusions, no
    --flag-all-risky-actions)."""
    from cloudsplaining.command.scan_policy_file import scan_policy

    with contextlib.redirect_stdout(io.StringIO()):  # it prints NotAction notes
        results = scan_policy(json.loads(iam_policy(name)))
    return sorted(k for k, v in results.items() if isinstance(v, dict) and v.get("findings"))


@functools.lru_cache(maxsize=None)
def parliament_module():
    import parliament

    # What `parliament --include-community-auditors` does before analysing.
    parliament.override_config(str(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml"))
    return parliament


@functools.lru_cache(maxsize=None)
def run_parliament(name):
    """parliament's issue codes, with the community auditors, minus what its
    CLI filters by default (severity below LOW, ignore_locations)."""
    parliament = parliament_module()
    from parliament.cli import is_finding_filtered

    policy = parliament.analyze_policy_string(iam_policy(name), include_community_auditors=True)
    codes = set()
    for finding in policy.findings:
        finding = parliament.enhance_finding(finding)
        if not is_finding_filtered(finding, "LOW"):
            codes.add(finding.issue)
    return sorted(codes)


RUNNERS = {"cloudsplaining": run_cloudsplaining, "parliament": run_parliament}


# -- Disagreements -----------------------------------------------------------


def disagreements(rein_ids, tool, tool_output):
    """{(category, side)} where side is who reports the category: 'rein' or the tool."""
    mine, theirs = categories("rein", rein_ids), categories(tool, tool_output)
    return {(c, "rein") for c in mine - theirs} | {(c, tool) for c in theirs - mine}


def recorded_disagreements(name, tool):
    out = {}
    for d in EXPECTATIONS["policies"][name].get("disagreements") or []:
        assert set(d) == {"tool", "category", "only", "why"}, f"{name}: malformed disagreement {d}"
        assert d["tool"] in TOOLS and d["only"] in ("rein", d["tool"]), f"{name}: {d}"
        assert isinstance(d["why"], str) and len(d["why"].split()) >= 6, f"{name}: explain {d} in a sentence"
        if d["tool"] == tool:
            key = (d["category"], d["only"])
            assert key not in out, f"{name}: {tool} {key} explained twice"
            out[key] = d["why"]
    return out


# -- Tests -------------------------------------------------------------------


def test_corpus_is_complete():
    assert len(POLICIES) >= 32, POLICIES
    assert sorted(EXPECTATIONS["policies"]) == POLICIES, "expectations.yaml and the corpus list different policies"
    for name in POLICIES:
        entry = EXPECTATIONS["policies"][name]
        assert set(entry) <= {"rein", "cloudsplaining", "parliament", "disagreements"}, name
        for rule in entry["rein"]:
            assert rule in REIN_CATEGORIES, f"{name}: unknown Rein rule {rule}"
    # The corpus exercises every Rein rule at least once.
    used = {rule for name in POLICIES for rule in EXPECTATIONS["policies"][name]["rein"]}
    assert used == set(REIN_CATEGORIES), f"rules with no corpus policy: {sorted(set(REIN_CATEGORIES) - used)}"


def test_iam_json_is_generated_from_the_corpus():
    for path in to_iam.corpus(CORPUS):
        committed = CORPUS / "iam" / f"{path.stem}.json"
        assert committed.is_file(), f"{committed} missing: run policy_corpus/to_iam.py --write"
        assert committed.read_text() == to_iam.render(path), f"{committed} is stale: run policy_corpus/to_iam.py --write"
    assert sorted(p.stem for p in (CORPUS / "iam").glob("*.json")) == POLICIES


@pytest.mark.parametrize("name", POLICIES)
def test_rein_reports_the_recorded_rules(lint, name):
    code, log = lint(name)
    ids, results = sarif_rule_ids(log)
    assert code == (1 if any(r["level"] == "error" for r in results) else 0), f"{name}: exit {code}"
    assert ids == sorted(EXPECTATIONS["policies"][name]["rein"]), \
        f"{name}: Rein reports {ids}; messages: {[r['ruleId'] + ' ' + r['message']['text'] for r in results]}"
    # deny statements never report; hold statements report below error (a person approves each call).
    effects = {st["id"]: st["effect"] for st in yaml.safe_load((CORPUS / f"{name}.yaml").read_text())["statements"]}
    for r in results:
        statement = (r.get("properties") or {}).get("statementId")
        if statement is not None:
            assert effects[statement] != "deny", f"{name}: finding on deny statement: {r}"
            assert effects[statement] != "hold" or r["level"] != "error", f"{name}: error on hold statement: {r}"


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("name", POLICIES)
def test_tool_reports_the_recorded_output(name, tool):
    actual = RUNNERS[tool](name)
    assert actual == sorted(EXPECTATIONS["policies"][name][tool]), f"{name}: {tool} now reports {actual}"


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("name", POLICIES)
def test_every_disagreement_is_explained(rein_bin, name, tool):
    # Rein's actual output when the lint exists, else its recorded one (test
    # (a) then skips, so the recorded data is at least kept consistent).
    if lint_help(rein_bin) is not None:
        rein_ids, _ = sarif_rule_ids(run_rein(rein_bin, name)[1])
    else:
        rein_ids = EXPECTATIONS["policies"][name]["rein"]
    actual = disagreements(rein_ids, tool, RUNNERS[tool](name))
    recorded = recorded_disagreements(name, tool)
    unexplained = sorted(actual - set(recorded))
    stale = sorted(set(recorded) - actual)
    assert not unexplained, (
        f"{name}: unexplained disagreement(s) with {tool} (category, who reports it): {unexplained}; "
        f"Rein {sorted(rein_ids)} vs {tool} {RUNNERS[tool](name)}. Add a `disagreements:` entry to expectations.yaml.")
    assert not stale, f"{name}: explanations for disagreements with {tool} that no longer occur: {stale}"


@pytest.fixture(scope="module", autouse=True)
def summary_table(request, rein_bin):
    """After the module: a policy x tool table (printed with -s)."""
    yield
    if request.config.getoption("capture") != "no":
        return
    have_lint = lint_help(rein_bin) is not None
    rows = []
    for name in POLICIES:
        rein_ids = sarif_rule_ids(run_rein(rein_bin, name)[1])[0] if have_lint else EXPECTATIONS["policies"][name]["rein"]
        cells = [name, " ".join(r.removeprefix("REIN-") for r in rein_ids) or "-"]
        for tool in TOOLS:
            out = RUNNERS[tool](name)
            diff = disagreements(rein_ids, tool, out)
            cells.append((" ".join(SHORT.get(o, o) for o in out) or "-") + (f"  [{len(diff)}]" if diff else ""))
        rows.append(cells)
    header = ["policy", "rein" + ("" if have_lint else " (recorded; lint unavailable)"), *TOOLS]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    total = sum(len(disagreements(
        sarif_rule_ids(run_rein(rein_bin, n)[1])[0] if have_lint else EXPECTATIONS["policies"][n]["rein"],
        t, RUNNERS[t](n))) for n in POLICIES for t in TOOLS)
    print("\n\nLinter comparison: Rein rule ids, each tool's raw output, [N] = disagreements with Rein, each explained")
    for tool, names in (("cloudsplaining", CLOUDSPLAINING_CATEGORIES), ("parliament", PARLIAMENT_CATEGORIES)):
        print(f"  {tool}: " + ", ".join(f"{SHORT[k]}={k}" for k in names if k in SHORT))
    print(line(header))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r))
    print(f"{len(POLICIES)} policies, {total} explained disagreements\n")


# Abbreviations for the summary table only.
SHORT = {
    "ServiceWildcard": "SvcWild", "PrivilegeEscalation": "PrivEsc", "DataExfiltration": "DataExfil",
    "ResourceExposure": "ResExp", "CredentialsExposure": "CredExp", "InfrastructureModification": "InfraMod",
    "RESOURCE_STAR": "RES_STAR", "RESOURCE_EFFECTIVELY_STAR": "RES_EFF_STAR", "CREDENTIALS_EXPOSURE": "CRED_EXP",
    "PRIVILEGE_ESCALATION": "PRIV_ESC", "PERMISSIONS_MANAGEMENT_ACTIONS": "PERM_MGMT",
    "RESOURCE_POLICY_PRIVILEGE_ESCALATION": "RES_POL_PRIV_ESC", "SENSITIVE_ACCESS": "SENS_ACCESS",
}
