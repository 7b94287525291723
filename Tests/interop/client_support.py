"""Helpers for driving real AWS clients (CLIs, curl, s3cmd, rclone, restic)
through `rein sidecar`: run a command, then check what the sidecar audited
and what actually reached moto_server.

The invariant every client test checks: each HTTP request the client sends
leaves exactly one audit record; allowed records are forwarded and each
forwarded request shows up exactly once in moto's access log; denied records
are not forwarded and moto sees nothing for them.
"""

import hashlib
import os
import re
import subprocess
import time
from pathlib import Path

# werkzeug's access log line: 127.0.0.1 - - [date] "PUT /bucket/key HTTP/1.1" 200 -
_MOTO_REQUEST = re.compile(r'"(GET|PUT|POST|HEAD|DELETE|PATCH|OPTIONS) (\S+) HTTP/1\.[01]" (\d{3})')


def moto_requests(moto):
    """Every request moto_server logged, as (method, path, status), minus its own admin API."""
    text = Path(moto.log.name).read_text(errors="replace")
    return [m.groups() for m in _MOTO_REQUEST.finditer(text) if not m.group(2).startswith("/moto-api")]


class Tally:
    """Audit records and moto requests that appear after it was created."""

    def __init__(self, sidecar, moto):
        self.sidecar = sidecar
        self.moto = moto
        self.audit_start = len(sidecar.audit())
        self.moto_start = len(moto_requests(moto))

    def settle(self, timeout=10.0):
        """The new audit records and moto requests, once both stopped changing
        and every forwarded record has its request in moto's log."""
        deadline = time.time() + timeout
        last = None
        stable_since = time.time()
        while True:
            records = self.sidecar.audit()[self.audit_start:]
            reqs = moto_requests(self.moto)[self.moto_start:]
            state = (len(records), len(reqs))
            if state != last:
                last, stable_since = state, time.time()
            forwarded = sum(1 for r in records if r.get("forwarded"))
            if forwarded == len(reqs) and time.time() - stable_since >= 0.3:
                return records, reqs
            if time.time() > deadline:
                return records, reqs
            time.sleep(0.05)

    def check(self, expect_ops=None, decision=None, count=None, authenticated=True):
        """Asserts the invariant and returns the new records.

        expect_ops: exact list of operations in order; decision: every record's
        decision; count: number of records; authenticated: the records name
        the agent session (False for requests refused before authentication)."""
        records, reqs = self.settle()
        summary = [(r.get("operation"), r["decision"], r.get("upstream_status"), r.get("error_code")) for r in records]
        forwarded = [r for r in records if r["forwarded"]]
        assert len(forwarded) == len(reqs), f"moto saw {reqs} but the sidecar forwarded {summary}"
        for r in records:
            assert r["forwarded"] == (r["decision"] == "allow"), r
            if r["decision"] == "allow":
                assert r.get("upstream_status") is not None and r.get("statement_id"), r
            else:
                assert r.get("upstream_status") is None and r.get("error_code"), r
            if authenticated:
                assert r.get("agent_id") == "interop-agent" and r.get("access_key_id", "").startswith("ASIA"), r
        if expect_ops is not None:
            assert [r.get("operation") for r in records] == list(expect_ops), summary
        if count is not None:
            assert len(records) == count, summary
        if decision is not None:
            assert all(r["decision"] == decision for r in records), summary
        return records


def run(cmd, env, timeout=300, cwd=None, input=None):
    """Runs a client; returns the CompletedProcess (text)."""
    return subprocess.run(cmd, env=env, cwd=cwd, input=input, capture_output=True, text=True, timeout=timeout)


def ok(proc):
    assert proc.returncode == 0, f"{proc.args!r} exited {proc.returncode}\nstdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}"
    return proc


def denied(proc, *needles):
    """The client failed with an AWS access-denied error naming each needle."""
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"{proc.args!r} unexpectedly succeeded:\n{text[-3000:]}"
    assert "AccessDenied" in text, text[-3000:]
    for n in needles:
        assert n in text, f"{n!r} not in client output:\n{text[-3000:]}"
    return proc


def random_file(path, size, chunk=1 << 20):
    """Writes `size` random bytes to `path` in chunks; returns the sha256 hex."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(chunk, left))
            h.update(block)
            f.write(block)
            left -= len(block)
    return h.hexdigest()


def sha256_file(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                return h.hexdigest()
            h.update(block)


def client_env(sidecar, tmp, proxy=False):
    """agent_env() plus settings that keep a client away from the machine's own config."""
    env = sidecar.agent_env(proxy=proxy)
    empty = Path(tmp) / "empty.conf"
    empty.touch()
    env["AWS_CONFIG_FILE"] = str(empty)
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(empty)
    env["AWS_MAX_ATTEMPTS"] = "1"
    env["AWS_RETRY_MODE"] = "standard"
    env["AWS_PAGER"] = ""
    env["HOME"] = str(tmp)
    return env


import pytest  # noqa: E402

from sidecar_harness import ACCOUNT, Sidecar  # noqa: E402

# The task policy the client tests run under: agent-*, orders-*, jobs-*,
# alerts-* and app/* are allowed; anything else is denied.
CLIENT_POLICY = f"""
apiVersion: rein.dev/v1alpha1
kind: TaskPolicy
agent: {{id: interop-agent, owner: qa@example.com}}
task: {{id: interop, purpose: client interop tests, notBefore: 2026-01-01T00:00:00Z, notAfter: 2027-12-31T00:00:00Z}}
mode: enforce
statements:
  - id: agent-buckets
    effect: allow
    # s3:PutObjectAcl because rclone sends `x-amz-acl: private` on every upload.
    actions: [s3:CreateBucket, s3:ListBucket, s3:GetObject, s3:PutObject, s3:PutObjectAcl, s3:DeleteObject,
              s3:GetBucketLocation, s3:ListBucketMultipartUploads, s3:AbortMultipartUpload, s3:ListMultipartUploadParts]
    resources: ["arn:aws:s3:::agent-*", "arn:aws:s3:::agent-*/*"]
  - id: list-buckets
    effect: allow
    actions: [s3:ListAllMyBuckets]
    resources: ["*"]
  - id: orders-tables
    effect: allow
    actions: [dynamodb:CreateTable, dynamodb:PutItem, dynamodb:GetItem, dynamodb:DescribeTable]
    resources: ["arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders-*"]
  - id: whoami
    effect: allow
    actions: [sts:GetCallerIdentity]
    resources: ["*"]
  - id: jobs-queues
    effect: allow
    actions: [sqs:CreateQueue, sqs:SendMessage, sqs:ReceiveMessage, sqs:GetQueueUrl]
    resources: ["arn:aws:sqs:us-east-1:{ACCOUNT}:jobs-*"]
  - id: alerts-topics
    effect: allow
    actions: [sns:CreateTopic, sns:Publish]
    resources: ["arn:aws:sns:us-east-1:{ACCOUNT}:alerts-*"]
  - id: app-secrets
    effect: allow
    actions: [secretsmanager:CreateSecret, secretsmanager:GetSecretValue]
    resources: ["arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app/*"]
  - id: report-function
    effect: allow
    actions: [lambda:GetFunction]
    resources: ["arn:aws:lambda:us-east-1:{ACCOUNT}:function:report"]
  - id: list-functions
    effect: allow
    actions: [lambda:ListFunctions]
    resources: ["*"]
  - id: iam-read
    effect: allow
    actions: [iam:ListUsers]
    resources: ["*"]
  - id: never-iam-writes
    effect: deny
    actions: [iam:CreateUser]
    resources: ["*"]
"""


def bucket_names(moto):
    return [b["Name"] for b in moto.client("s3").list_buckets().get("Buckets", [])]


def moto_keys(moto, bucket):
    listed = moto.client("s3").list_objects_v2(Bucket=bucket)
    return {o["Key"]: (o["Size"], o["ETag"]) for o in listed.get("Contents", [])}


MODES = ["endpoint", "proxy"]


@pytest.fixture(scope="module")
def sidecar(rein_bin, moto):
    """One sidecar per test module under CLIENT_POLICY."""
    s = Sidecar(rein_bin, moto.url, CLIENT_POLICY)
    yield s
    s.stop()


@pytest.fixture()
def tmp(tmp_path):
    return tmp_path
