"""The SARIF that Rein's policy linter writes is valid SARIF 2.1.0.

Validated with `jsonschema` against the official OASIS schema kept in
Tests/interop/schemas/ (see the README there). The logs come from the Swift
suite `SARIFReportTests`, which writes its samples to $REIN_SARIF_OUT.
Each document is also mutated in ways the schema forbids, to prove that this
test fails when the schema rejects a document.
"""

import copy
import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "Tests/interop/schemas/sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
SAMPLES = ["risky.sarif", "clean.sarif", "mixed.sarif"]


@pytest.fixture(scope="session")
def validator():
    raw = SCHEMA.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256, "the vendored SARIF schema was modified"
    schema = json.loads(raw)
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


@pytest.fixture(scope="session")
def sarif_logs(tmp_path_factory):
    """Runs the Swift suite that renders the samples and reads them back."""
    out = tmp_path_factory.mktemp("sarif")
    env = dict(os.environ, REIN_SARIF_OUT=str(out))
    proc = subprocess.run(["swift", "test", "--filter", "SARIFReportTests"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"swift test failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    logs = {}
    for name in SAMPLES:
        path = out / name
        assert path.is_file(), f"SARIFReportTests did not write {name} to REIN_SARIF_OUT"
        logs[name] = json.loads(path.read_text(encoding="utf-8"))
    return logs


def assert_valid_sarif(validator, log):
    """The check every Rein log must pass; fails listing each schema error."""
    problems = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not problems, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in problems)


@pytest.mark.parametrize("name", SAMPLES)
def test_rein_sarif_is_valid(validator, sarif_logs, name):
    log = sarif_logs[name]
    assert_valid_sarif(validator, log)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"


@pytest.mark.parametrize("name", SAMPLES)
def test_rule_index_names_the_rule(sarif_logs, name):
    """What the schema cannot say: each result's ruleIndex points at its ruleId."""
    run = sarif_logs[name]["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules), "rule ids must be unique"
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1


def test_samples_exercise_every_level(sarif_logs):
    levels = {r["level"] for log in sarif_logs.values() for r in log["runs"][0]["results"]}
    assert levels == {"error", "warning", "note"}
    assert sarif_logs["clean.sarif"]["runs"][0]["results"] == []


def _drop_version(log):
    del log["version"]


def _bad_level(log):
    log["runs"][0]["results"][0]["level"] = "critical"


def _line_zero(log):
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0


def _rule_index_text(log):
    log["runs"][0]["results"][0]["ruleIndex"] = "0"


def _message_without_text(log):
    log["runs"][0]["results"][0]["message"] = {}


def _bad_default_level(log):
    log["runs"][0]["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"] = "fatal"


def _unknown_top_level_key(log):
    log["results"] = []


def _wrong_version(log):
    log["version"] = "2.0.0"


def _driver_without_name(log):
    del log["runs"][0]["tool"]["driver"]["name"]


BREAKAGES = [_drop_version, _bad_level, _line_zero, _rule_index_text, _message_without_text, _bad_default_level,
             _unknown_top_level_key, _wrong_version, _driver_without_name]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda f: f.__name__.strip("_"))
def test_schema_rejects_a_broken_copy(validator, sarif_logs, breakage):
    broken = copy.deepcopy(sarif_logs["risky.sarif"])
    breakage(broken)
    with pytest.raises(AssertionError):
        assert_valid_sarif(validator, broken)
    with pytest.raises(ValidationError):
        validator.validate(broken)
