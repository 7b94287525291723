"""Interop tests for `rein sigv4 explain`, against the AWS signing test suite,
a real botocore wire capture and a botocore-signed random corpus.

    cd <repo> && python3 -m pytest Tests/interop -q

The binary is $REIN_BIN, else <repo>/.build/debug/rein (built with
`swift build` when missing). Reference data: $REIN_TESTDATA, else
../shared/testdata beside the project.
"""

import base64
import calendar
import datetime
import email.utils
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
import sigv4_corpus  # noqa: E402

TESTDATA = Path(os.environ.get("REIN_TESTDATA", str(REPO.parent / "shared" / "testdata")))
SUITE = TESTDATA / "aws-signing-test-suite-v4"
WIRE_CAPTURE = TESTDATA / "botocore-1.43.11-https-putobject-wire.bin"

CLEARED_ENV = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "REIN_BROKER_ACCESS_KEY_ID", "REIN_BROKER_SECRET_ACCESS_KEY",
    "REIN_BROKER_SESSION_TOKEN",
)
S3_FAMILY = sigv4_corpus.S3_FAMILY
PRESIGN_KEYS = sigv4_corpus.AUTH_QUERY_KEYS

BROKER_AKID = "AKIABROKEREXAMPLE777"
BROKER_SECRET = "brokerSecret/Key+0123456789abcdefGHIJKLM"
BROKER_TOKEN = ("IQoJb3JpZ2luX2VjEBroker//////////wEaCXVzLWVhc3QtMSJHMEUCIQ"
                "+Broker/Token==")

# Suite cases whose expected canonical request uses normalised paths (Rein
# normalises every non-S3 service, and the suite's service is "service").
SUITE_CASES = [
    "get-vanilla", "get-vanilla-query", "get-vanilla-empty-query-key",
    "get-vanilla-query-order-encoded", "get-vanilla-query-order-key-case",
    "get-vanilla-query-unreserved", "get-vanilla-utf8-query", "get-utf8",
    "get-unreserved", "get-space-normalized", "get-slash-normalized",
    "get-slashes-normalized", "get-slash-dot-slash-normalized",
    "get-slash-pointless-dot-normalized", "get-relative-normalized",
    "get-relative-relative-normalized", "get-header-key-duplicate",
    "get-header-value-multiline", "get-header-value-order",
    "get-header-value-trim", "get-vanilla-with-session-token",
    "post-header-key-case", "post-header-key-sort", "post-header-value-case",
    "post-sts-header-before", "post-vanilla", "post-vanilla-query",
    "post-vanilla-empty-query-value", "post-x-www-form-urlencoded",
    "post-x-www-form-urlencoded-parameters",
]


# ------------------------------------------------------------------ helpers

def run_rein(rein_bin, args, stdin=None, env=None):
    full_env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    full_env.update({k: v for k, v in (env or {}).items() if v is not None})
    return subprocess.run([rein_bin, "sigv4", "explain", *args], input=stdin,
                          env=full_env, capture_output=True, timeout=60)


def explain_json(rein_bin, args, stdin=None, env=None):
    proc = run_rein(rein_bin, [*args, "--json"], stdin=stdin, env=env)
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"no JSON from rein (exit {proc.returncode}): "
                    f"stdout={proc.stdout!r} stderr={proc.stderr!r}")
    return proc.returncode, out


def suite_case(name):
    d = SUITE / name
    ctx = json.loads((d / "context.json").read_text())
    creds = ctx["credentials"]
    env = {"AWS_SECRET_ACCESS_KEY": creds["secret_access_key"],
           "AWS_SESSION_TOKEN": creds.get("token")}
    return d, ctx, env


def iso_at(ts, plus_seconds=0):
    """yyyymmddThhmmssZ or ISO 8601 -> ISO 8601 string, shifted."""
    if "-" in ts:
        dt = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ")
    else:
        dt = datetime.datetime.strptime(ts, "%Y%m%dT%H%M%SZ")
    dt += datetime.timedelta(seconds=plus_seconds)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_raw(raw):
    """(method, target, [(name, value)], body) of a raw HTTP/1.1 request."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, f"no end of headers in {raw[:300]!r}"
    lines = head.decode("utf-8").split("\r\n")
    method, target, version = lines[0].split(" ")
    assert version == "HTTP/1.1", lines[0]
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        assert colon, f"bad header line {line!r}"
        headers.append((name, value.strip(" \t")))
    return method, target, headers, body


def header_list(headers, lname):
    return [v for n, v in headers if n.lower() == lname]


def agent_signed_headers(headers, target):
    auth = header_list(headers, "authorization")
    if auth:
        return auth[0].split("SignedHeaders=")[1].split(",")[0].split(";")
    query = target.partition("?")[2]
    for item in query.split("&"):
        k, _, v = item.partition("=")
        if k == "X-Amz-SignedHeaders":
            return unquote(v).split(";")
    raise AssertionError("no signed headers in the request")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    subprocess.run([sys.executable, str(HERE / "sigv4_corpus.py"),
                    "--count", "400", "--seed", "7", "--out", str(out)],
                   check=True)
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(recs) == 400
    return recs


def agent_env(rec):
    return {"AWS_SECRET_ACCESS_KEY": rec["secret_access_key"],
            "AWS_ACCESS_KEY_ID": rec["access_key_id"],
            "AWS_SESSION_TOKEN": rec["session_token"]}


# --------------------------------------------------- AWS signing test suite

@pytest.mark.parametrize("form", ["header", "query"])
@pytest.mark.parametrize("case", SUITE_CASES)
def test_suite_vector_verifies(rein_bin, case, form):
    d, ctx, env = suite_case(case)
    rc, out = explain_json(rein_bin, [str(d / f"{form}-signed-request.txt"),
                                      "--at", ctx["timestamp"]], env=env)
    assert out["error"] is None, out.get("message")
    assert out["valid"] is True
    assert rc == 0
    assert out["auth_form"] == form
    assert out["canonical_request"] == (d / f"{form}-canonical-request.txt").read_text()
    assert out["string_to_sign"] == (d / f"{form}-string-to-sign.txt").read_text()
    expected_sig = (d / f"{form}-signature.txt").read_text().strip()
    assert out["signature"] == expected_sig
    assert out["received_signature"] == expected_sig
    assert out["access_key_id"] == ctx["credentials"]["access_key_id"]


def test_wrong_secret_is_signature_mismatch(rein_bin):
    d, ctx, env = suite_case("get-vanilla")
    env["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ"
    rc, out = explain_json(rein_bin, [str(d / "header-signed-request.txt"),
                                      "--at", ctx["timestamp"]], env=env)
    assert rc == 1
    assert out["valid"] is False
    assert out["error"] == "SignatureDoesNotMatch"
    suite_sig = (d / "header-signature.txt").read_text().strip()
    assert out["received_signature"] == suite_sig
    assert out["signature"] != suite_sig
    # The canonical request does not depend on the key.
    assert out["canonical_request"] == (d / "header-canonical-request.txt").read_text()


def test_wrong_access_key_id_is_rejected(rein_bin):
    d, ctx, env = suite_case("get-vanilla")
    env["AWS_ACCESS_KEY_ID"] = "AKIDOTHEREXAMPLE"
    rc, out = explain_json(rein_bin, [str(d / "header-signed-request.txt"),
                                      "--at", ctx["timestamp"]], env=env)
    assert rc == 1
    assert out["valid"] is False
    assert out["error"] is not None


def test_skewed_clock_is_request_time_too_skewed(rein_bin):
    # S3 request (the botocore capture), checked 1 hour after it was signed.
    raw = WIRE_CAPTURE.read_bytes()
    amz_date = re.search(rb"\r\nX-Amz-Date: (\d{8}T\d{6}Z)\r\n", raw).group(1)
    rc, out = explain_json(
        rein_bin, [str(WIRE_CAPTURE), "--at", iso_at(amz_date.decode(), 3600)],
        env={"AWS_SECRET_ACCESS_KEY": "testsecret"})
    assert rc == 1
    assert out["valid"] is False
    assert out["error"] == "RequestTimeTooSkewed"


def test_skewed_clock_non_s3_header_form(rein_bin):
    # The suite's service is not S3, so explain answers in the query-protocol
    # vocabulary (SigV4Error.awsCode(.query)): RequestExpired.
    d, ctx, env = suite_case("get-vanilla")
    rc, out = explain_json(rein_bin, [str(d / "header-signed-request.txt"),
                                      "--at", iso_at(ctx["timestamp"], 3600)],
                           env=env)
    assert rc == 1
    assert out["valid"] is False
    assert out["error"] == "RequestExpired"
    # 1 hour early is as bad as 1 hour late.
    rc, out = explain_json(rein_bin, [str(d / "header-signed-request.txt"),
                                      "--at", iso_at(ctx["timestamp"], -3600)],
                           env=env)
    assert (rc, out["valid"], out["error"]) == (1, False, "RequestExpired")


def test_skew_within_limit_is_accepted(rein_bin):
    d, ctx, env = suite_case("get-vanilla")
    rc, out = explain_json(rein_bin, [str(d / "header-signed-request.txt"),
                                      "--at", iso_at(ctx["timestamp"], 600)],
                           env=env)
    assert (rc, out["valid"], out["error"]) == (0, True, None)


def test_expired_presign_is_access_denied(rein_bin):
    d, ctx, env = suite_case("get-vanilla")
    rc, out = explain_json(rein_bin, [str(d / "query-signed-request.txt"),
                                      "--at", iso_at(ctx["timestamp"], 7200)],
                           env=env)
    assert rc == 1
    assert out["valid"] is False
    assert out["error"] == "AccessDenied"


def test_token_added_after_signing_is_rejected(rein_bin):
    # post-sts-header-after: X-Amz-Security-Token present but not signed.
    d, ctx, env = suite_case("post-sts-header-after")
    rc, out = explain_json(rein_bin, [str(d / "header-signed-request.txt"),
                                      "--at", ctx["timestamp"]], env=env)
    assert rc == 1
    assert out["valid"] is False
    assert out["error"] == "AccessDenied"
    assert "x-amz-security-token" in out["message"].lower()


def test_text_mode_prints_canonical_request_and_verdict(rein_bin):
    d, ctx, env = suite_case("get-vanilla-query")
    path = str(d / "header-signed-request.txt")
    ok = run_rein(rein_bin, [path, "--at", ctx["timestamp"]], env=env)
    assert ok.returncode == 0, ok.stderr
    text = ok.stdout.decode()
    assert (d / "header-canonical-request.txt").read_text() in text
    assert (d / "header-string-to-sign.txt").read_text() in text
    assert re.search(r"^VERDICT: valid\b", text, re.M), text
    assert (d / "header-signature.txt").read_text().strip() in text

    env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
    bad = run_rein(rein_bin, [path, "--at", ctx["timestamp"]], env=env)
    assert bad.returncode == 1
    text = bad.stdout.decode()
    assert re.search(r"^VERDICT: INVALID\b.*SignatureDoesNotMatch", text,
                     re.M | re.I), text
    assert (d / "header-canonical-request.txt").read_text() in text


def test_botocore_wire_capture_streaming_unsigned_trailer(rein_bin):
    raw = WIRE_CAPTURE.read_bytes()
    amz_date = re.search(rb"\r\nX-Amz-Date: (\d{8}T\d{6}Z)\r\n", raw).group(1)
    rc, out = explain_json(
        rein_bin, [str(WIRE_CAPTURE), "--at", iso_at(amz_date.decode())],
        env={"AWS_SECRET_ACCESS_KEY": "testsecret",
             "AWS_ACCESS_KEY_ID": "AKIDTEST"})
    assert out["error"] is None, out.get("message")
    assert out["valid"] is True
    assert rc == 0
    assert out["payload_mode"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert out["access_key_id"] == "AKIDTEST"
    assert out["decoded_bytes"] == len(b"hello over tls")
    received = re.search(rb"Signature=([0-9a-f]{64})", raw).group(1).decode()
    assert out["signature"] == received
    # Same capture, wrong secret: must not verify.
    rc, out = explain_json(
        rein_bin, [str(WIRE_CAPTURE), "--at", iso_at(amz_date.decode())],
        env={"AWS_SECRET_ACCESS_KEY": "testsecreT"})
    assert (rc, out["valid"], out["error"]) == (1, False,
                                                "SignatureDoesNotMatch")


def test_missing_secret_env_fails_with_message(rein_bin):
    d, ctx, _ = suite_case("get-vanilla")
    proc = run_rein(rein_bin, [str(d / "header-signed-request.txt"),
                               "--at", ctx["timestamp"]],
                    env={"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE"})
    assert proc.returncode != 0
    assert b"AWS_SECRET_ACCESS_KEY" in proc.stdout + proc.stderr


# ------------------------------------------------- botocore-signed corpus

def test_corpus_generator_round_trips():
    """The generator's own botocore self-check (wire bytes re-verify)."""
    problems = []
    for i in range(300):
        rec = sigv4_corpus.make_record(11, i)
        for p in sigv4_corpus.check_record(rec):
            problems.append(f"{rec['id']}: {p}")
    assert not problems, problems[:10]


def test_corpus_verifies_like_botocore(rein_bin, corpus):
    failures = []
    for rec in corpus:
        raw = base64.b64decode(rec["request"])
        rc, out = explain_json(rein_bin, ["--at", iso_at(rec["time"])],
                               stdin=raw, env=agent_env(rec))
        problems = []
        if rc != 0 or not out["valid"]:
            problems.append(f"rejected: exit {rc}, {out.get('error')}: "
                            f"{out.get('message')}")
        if out.get("canonical_request") != rec["canonical_request"]:
            problems.append("canonical request differs:\n--- botocore\n"
                            f"{rec['canonical_request']}\n--- rein\n"
                            f"{out.get('canonical_request')}")
        if out.get("signature") != rec["signature"]:
            problems.append(f"signature {out.get('signature')} != botocore "
                            f"{rec['signature']}")
        if out.get("auth_form") != rec["form"]:
            problems.append(f"auth_form {out.get('auth_form')}")
        if problems:
            failures.append(f"{rec['id']} ({rec['signer']}, {rec['service']}):"
                            f" " + "; ".join(problems) + f"\nraw: {raw!r}")
    assert not failures, (f"{len(failures)}/{len(corpus)} failed:\n"
                          + "\n\n".join(failures[:5]))


def test_corpus_mutations_are_rejected(rein_bin, corpus):
    failures = []
    kinds = set()
    for rec in corpus:
        raw = base64.b64decode(rec["mutated"])
        rc, out = explain_json(rein_bin, ["--at", iso_at(rec["time"])],
                               stdin=raw, env=agent_env(rec))
        kinds.add(rec["mutation"].split()[0])
        if rc != 1 or out["valid"] is not False or not out.get("error"):
            failures.append(f"{rec['id']} [{rec['mutation']}] exit {rc} "
                            f"valid={out['valid']} error={out.get('error')}"
                            f"\nraw: {raw!r}")
    assert not failures, (f"{len(failures)} mutated requests accepted:\n"
                          + "\n\n".join(failures[:5]))
    assert {"method", "path", "query", "signed", "body", "X-Amz-Date",
            "scope", "signature"} <= kinds


class _ResignAuth(SigV4Auth):
    """botocore SigV4Auth with S3 path rules for the S3 family, and without
    S3SigV4Auth's replacement of X-Amz-Content-SHA256."""

    def __init__(self, credentials, service_name, region_name):
        super().__init__(credentials, service_name, region_name)
        self._s3_rules = service_name in S3_FAMILY

    def _normalize_url_path(self, path):
        if self._s3_rules:
            return path
        return super()._normalize_url_path(path)


def _botocore_resign(method, host, target, headers, body, service, region,
                     when, token):
    req = AWSRequest(method=method, url=f"https://{host}{target}",
                     data=body or None)
    for n, v in headers:
        req.headers[n] = v
    signer = _ResignAuth(Credentials(BROKER_AKID, BROKER_SECRET, token),
                         service, region)
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda *a, **k: when
    try:
        signer.add_auth(req)
    finally:
        botocore.auth.get_current_datetime = original
    return req


def _check_resign(rein_bin, rec, index):
    """Re-sign rec with Rein and botocore.

    Returns (problems with the signing, problems with the forwarded body).
    """
    problems = []
    body_problems = []
    raw = base64.b64decode(rec["request"])
    a_method, a_target, a_headers, a_body = parse_raw(raw)
    agent_signed = agent_signed_headers(a_headers, a_target)
    token = BROKER_TOKEN if index % 2 == 0 else None
    new_host = "upstream.example.test:8443" if index % 7 == 3 else None
    at = iso_at(rec["time"], 7)
    when = datetime.datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ")
    env = agent_env(rec)
    env.update({"REIN_BROKER_ACCESS_KEY_ID": BROKER_AKID,
                "REIN_BROKER_SECRET_ACCESS_KEY": BROKER_SECRET,
                "REIN_BROKER_SESSION_TOKEN": token})
    args = ["--resign", "--at", at] + (["--host", new_host] if new_host else [])
    proc = run_rein(rein_bin, args, stdin=raw, env=env)
    if proc.returncode != 0:
        return [f"exit {proc.returncode}: {proc.stderr[-500:]!r}"], []
    out = proc.stdout
    method, target, headers, body = parse_raw(out)
    lower_names = [n.lower() for n, _ in headers]

    # What must survive or change, independent of botocore.
    if method != a_method:
        problems.append(f"method {method} != {a_method}")
    a_path, _, a_query = a_target.partition("?")
    expected_query = "&".join(
        i for i in (a_query.split("&") if a_query else [])
        if i.partition("=")[0] not in PRESIGN_KEYS) if rec["form"] == "query" \
        else a_query
    expected_target = a_path + ("?" + expected_query if expected_query else "")
    if target != expected_target:
        problems.append(f"target {target!r} != {expected_target!r}")
    if body != a_body:
        first = next((i for i, (x, y) in enumerate(zip(a_body, body))
                      if x != y), min(len(a_body), len(body)))
        body_problems.append(f"body changed: {len(a_body)} bytes sent, "
                             f"{len(body)} bytes out; first difference at "
                             f"byte {first}")
    if lower_names.count("authorization") != 1:
        problems.append("not exactly one Authorization header")
    if lower_names.count("host") != 1:
        problems.append("not exactly one Host header")
    host = header_list(headers, "host")[0]
    want_host = new_host or header_list(a_headers, "host")[0]
    if host != want_host:
        problems.append(f"Host {host!r} != {want_host!r}")
    tokens = header_list(headers, "x-amz-security-token")
    if tokens != ([token] if token else []):
        problems.append(f"X-Amz-Security-Token headers {tokens}")
    uses_date = "date" in agent_signed and "x-amz-date" not in agent_signed
    if uses_date:
        want = email.utils.formatdate(calendar.timegm(when.timetuple()))
        if header_list(headers, "date") != [want]:
            problems.append(f"Date {header_list(headers, 'date')} != {want!r}")
    elif header_list(headers, "x-amz-date") != [when.strftime("%Y%m%dT%H%M%SZ")]:
        problems.append(f"X-Amz-Date {header_list(headers, 'x-amz-date')}")
    s3 = rec["service"] in S3_FAMILY
    a_sha = header_list(a_headers, "x-amz-content-sha256")
    sha = header_list(headers, "x-amz-content-sha256")
    if s3:
        if a_sha:
            want_sha = a_sha
        elif rec["form"] == "query":
            want_sha = ["UNSIGNED-PAYLOAD"]
        else:
            want_sha = [hashlib.sha256(a_body).hexdigest()]
        if sha != want_sha:
            problems.append(f"X-Amz-Content-SHA256 {sha} != {want_sha}")

    # botocore signs: the agent's signed headers (minus its auth, date and
    # token), + the date, + the broker token, + x-amz-content-sha256 (S3).
    keep = set(agent_signed) - {"authorization", "x-amz-security-token",
                                "x-amz-date", "date"}
    if uses_date:
        keep.add("date")
    if s3 or a_sha:
        keep.add("x-amz-content-sha256")
    b_headers = [(n, v) for n, v in headers if n.lower() in keep]
    req = _botocore_resign(method, host, target, b_headers, a_body,
                           rec["service"], rec["region"], when, token)
    want_auth = req.headers["Authorization"]
    got_auth = header_list(headers, "authorization")
    if got_auth != [want_auth]:
        problems.append(f"Authorization differs:\n  rein     {got_auth}\n"
                        f"  botocore {want_auth!r}")
    return problems, body_problems


@pytest.fixture(scope="module")
def resign_results(rein_bin, corpus):
    results = []
    for i, rec in enumerate(corpus[:300]):
        problems, body_problems = _check_resign(rein_bin, rec, i)
        results.append((i, rec, problems, body_problems))
    return results


def _describe(rec, problems):
    raw = base64.b64decode(rec["request"])
    return (f"{rec['id']} ({rec['form']}, {rec['signer']}, {rec['service']}): "
            + "; ".join(problems) + f"\nagent request: {raw[:1500]!r}")


def test_resign_matches_botocore(resign_results):
    """Rein's re-signed Authorization is byte-identical to botocore's."""
    cover = {"header": 0, "query": 0, "s3": 0, "other": 0, "token": 0,
             "no-token": 0, "host": 0}
    failures = []
    for i, rec, problems, _ in resign_results:
        cover[rec["form"]] += 1
        cover["s3" if rec["service"] in S3_FAMILY else "other"] += 1
        cover["token" if i % 2 == 0 else "no-token"] += 1
        cover["host"] += i % 7 == 3
        if problems:
            failures.append(_describe(rec, problems))
    assert len(resign_results) >= 200
    assert min(cover.values()) >= 30, cover
    assert not failures, (f"{len(failures)}/{len(resign_results)} re-signed "
                          "requests differ from botocore:\n"
                          + "\n\n".join(failures[:6]))


def test_resign_forwards_body_bytes_unchanged(resign_results):
    """The re-signed request carries exactly the agent's body bytes."""
    failures = [_describe(rec, bp) for i, rec, _, bp in resign_results if bp]
    with_body = sum(1 for _, rec, _, _ in resign_results
                    if parse_raw(base64.b64decode(rec["request"]))[3])
    assert with_body >= 50
    assert not failures, (f"{len(failures)}/{with_body} bodies altered by "
                          "--resign:\n" + "\n\n".join(failures[:3]))
