"""observe and learn modes: a would-be denial is forwarded and recorded;
learn's audit trail feeds `rein policy suggest`."""

import subprocess

import boto3
import botocore
import pytest
from botocore.config import Config

from sidecar_harness import Sidecar

POLICY = """
apiVersion: rein.dev/v1alpha1
kind: TaskPolicy
agent: {id: modes-agent, owner: qa@example.com}
task: {id: modes, purpose: mode tests, notBefore: 2026-01-01T00:00:00Z, notAfter: 2027-12-31T00:00:00Z}
mode: MODE
statements:
  - id: only-this-bucket
    effect: allow
    actions: [s3:ListBucket]
    resources: ["arn:aws:s3:::allowed"]
"""


def s3_through(sidecar):
    session = sidecar.agent_session()
    return session.client("s3", region_name="us-east-1", endpoint_url=sidecar.url, config=Config(retries={"max_attempts": 1}))


@pytest.mark.parametrize("mode", ["observe", "learn"])
def test_would_be_denial_is_forwarded_and_recorded(rein_bin, moto, mode):
    s = Sidecar(rein_bin, moto.url, POLICY.replace("MODE", mode), mode=mode)
    try:
        s3 = s3_through(s)
        s3.create_bucket(Bucket=f"made-in-{mode}")  # not allowed by the policy, but the mode forwards it
        names = [b["Name"] for b in moto.client("s3").list_buckets()["Buckets"]]
        assert f"made-in-{mode}" in names
        record = [r for r in s.wait_audit(1) if r.get("operation") == "CreateBucket"][-1]
        assert record["decision"] == "would-deny" and record["forwarded"] is True and record["mode"] == mode
        assert record["upstream_status"] == 200
    finally:
        s.stop()


def test_enforce_sidecar_is_not_widened_by_a_learn_policy(rein_bin, moto):
    s = Sidecar(rein_bin, moto.url, POLICY.replace("MODE", "learn"), mode="enforce")
    try:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3_through(s).create_bucket(Bucket="blocked-by-enforce")
        assert e.value.response["Error"]["Code"] == "AccessDenied"
        names = [b["Name"] for b in moto.client("s3").list_buckets().get("Buckets", [])]
        assert "blocked-by-enforce" not in names
    finally:
        s.stop()


def test_learn_mode_trail_feeds_policy_suggest(rein_bin, moto):
    s = Sidecar(rein_bin, moto.url, POLICY.replace("MODE", "learn"), mode="learn")
    try:
        s3 = s3_through(s)
        s3.create_bucket(Bucket="learned")
        s3.put_object(Bucket="learned", Key="a/b.txt", Body=b"x", ContentType="text/plain")
        s.wait_audit(2)
        out = subprocess.run([rein_bin, "policy", "suggest", "--from", str(s.audit_path)], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert "s3:CreateBucket" in out.stdout and "arn:aws:s3:::learned" in out.stdout
        assert "s3:PutObject" in out.stdout and "arn:aws:s3:::learned/a/b.txt" in out.stdout
    finally:
        s.stop()
