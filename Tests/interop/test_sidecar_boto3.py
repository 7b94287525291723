"""boto3 through `rein sidecar` to moto_server: allowed calls behave as if
direct, denied calls raise the AWS error and never reach moto, and each call
leaves one audit record."""

import hashlib
import os
import subprocess
import sys
import textwrap

import boto3
import botocore
import pytest
from botocore.config import Config

from sidecar_harness import ACCOUNT, Sidecar

POLICY = f"""
apiVersion: rein.dev/v1alpha1
kind: TaskPolicy
agent: {{id: interop-agent, owner: qa@example.com}}
task: {{id: interop, purpose: interop tests, notBefore: 2026-01-01T00:00:00Z, notAfter: 2027-12-31T00:00:00Z}}
mode: enforce
statements:
  - id: bucket
    effect: allow
    actions: [s3:CreateBucket, s3:ListBucket, s3:GetObject, s3:PutObject, s3:DeleteObject, s3:ListBucketMultipartUploads,
              s3:AbortMultipartUpload, s3:ListMultipartUploadParts]
    resources: ["arn:aws:s3:::agent-data", "arn:aws:s3:::agent-data/*"]
  - id: orders-table
    effect: allow
    actions: [dynamodb:CreateTable, dynamodb:PutItem, dynamodb:GetItem, dynamodb:DescribeTable]
    resources: ["arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"]
  - id: whoami
    effect: allow
    actions: [sts:GetCallerIdentity]
    resources: ["*"]
  - id: jobs-queue
    effect: allow
    actions: [sqs:CreateQueue, sqs:SendMessage, sqs:ReceiveMessage, sqs:GetQueueUrl]
    resources: ["arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"]
  - id: app-secrets
    effect: allow
    actions: [secretsmanager:CreateSecret, secretsmanager:GetSecretValue]
    resources: ["arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app/*"]
  - id: alerts-topic
    effect: allow
    actions: [sns:CreateTopic, sns:Publish]
    resources: ["arn:aws:sns:us-east-1:{ACCOUNT}:alerts"]
  - id: reports-function
    effect: allow
    actions: [lambda:GetFunction, lambda:ListFunctions]
    resources: ["arn:aws:lambda:us-east-1:{ACCOUNT}:function:report", "*"]
  - id: never-iam-writes
    effect: deny
    actions: [iam:CreateUser]
    resources: ["*"]
"""


@pytest.fixture(scope="module")
def sidecar(rein_bin, moto):
    s = Sidecar(rein_bin, moto.url, POLICY)
    yield s
    s.stop()


def agent_session(sidecar):
    return sidecar.agent_session()


def client(sidecar, service, **kw):
    return agent_session(sidecar).client(service, region_name="us-east-1", endpoint_url=sidecar.url,
                                         config=Config(retries={"max_attempts": 1}), **kw)


def test_agent_gets_rotating_session_credentials_not_aws_keys(sidecar):
    creds = sidecar.credentials()
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert creds["Token"] and creds["SecretAccessKey"]
    assert creds["AccessKeyId"] != "AKIAIOSFODNN7EXAMPLE"
    frozen = agent_session(sidecar).get_credentials().get_frozen_credentials()
    assert frozen.access_key.startswith("ASIA")


def test_s3_allowed_round_trip_matches_direct(sidecar, moto):
    s3 = client(sidecar, "s3")
    s3.create_bucket(Bucket="agent-data")
    body = os.urandom(300_000)
    s3.put_object(Bucket="agent-data", Key="dir/obj.bin", Body=body, ContentType="application/octet-stream")
    got = s3.get_object(Bucket="agent-data", Key="dir/obj.bin")["Body"].read()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(body).hexdigest()
    listed = s3.list_objects_v2(Bucket="agent-data")
    direct = moto.client("s3").list_objects_v2(Bucket="agent-data")
    assert [o["Key"] for o in listed["Contents"]] == [o["Key"] for o in direct["Contents"]] == ["dir/obj.bin"]


def test_s3_denied_bucket_raises_access_denied_and_never_reaches_moto(sidecar, moto):
    s3 = client(sidecar, "s3")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.create_bucket(Bucket="someone-elses-bucket")
    err = e.value.response["Error"]
    assert err["Code"] == "AccessDenied"
    assert "s3:CreateBucket" in err["Message"] and "someone-elses-bucket" in err["Message"]
    names = [b["Name"] for b in moto.client("s3").list_buckets().get("Buckets", [])]
    assert "someone-elses-bucket" not in names


def test_dynamodb_allowed_and_denied(sidecar, moto):
    ddb = client(sidecar, "dynamodb")
    ddb.create_table(TableName="orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="orders", Item={"id": {"S": "1"}, "total": {"N": "42"}})
    item = ddb.get_item(TableName="orders", Key={"id": {"S": "1"}})["Item"]
    assert item["total"]["N"] == "42"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.create_table(TableName="payroll", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "table/payroll" in e.value.response["Error"]["Message"]
    assert "payroll" not in moto.client("dynamodb").list_tables()["TableNames"]


def test_sts_sqs_sns_secrets(sidecar, moto):
    ident = client(sidecar, "sts").get_caller_identity()
    assert ident["Account"] == ACCOUNT
    sqs = client(sidecar, "sqs")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sqs.create_queue(QueueName="other")
    assert "AccessDenied" in e.value.response["Error"]["Code"]
    assert not any(u.endswith("/other") for u in moto.client("sqs").list_queues().get("QueueUrls", []))
    sns = client(sidecar, "sns")
    arn = sns.create_topic(Name="alerts")["TopicArn"]
    sns.publish(TopicArn=arn, Message="m")
    sm = client(sidecar, "secretsmanager")
    sm.create_secret(Name="app/db", SecretString="s3cr3t")
    assert sm.get_secret_value(SecretId="app/db")["SecretString"] == "s3cr3t"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sm.create_secret(Name="prod/db", SecretString="x")
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"


def test_iam_explicit_deny_and_lambda(sidecar):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client(sidecar, "iam").create_user(UserName="backdoor")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert "never-iam-writes" in e.value.response["Error"]["Message"] or "iam:CreateUser" in e.value.response["Error"]["Message"]
    fns = client(sidecar, "lambda").list_functions()
    assert "Functions" in fns


def test_tampered_signature_is_rejected_and_recorded(sidecar, moto):
    creds = sidecar.credentials()
    wrong = boto3.client("s3", region_name="us-east-1", endpoint_url=sidecar.url,
                         aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key="not-the-secret",
                         aws_session_token=creds["Token"], config=Config(retries={"max_attempts": 1}))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        wrong.create_bucket(Bucket="agent-data-2")
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    real = boto3.client("s3", region_name="us-east-1", endpoint_url=sidecar.url,
                        aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x",
                        config=Config(retries={"max_attempts": 1}))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        real.list_buckets()
    assert e.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    names = [b["Name"] for b in moto.client("s3").list_buckets().get("Buckets", [])]
    assert "agent-data-2" not in names


def test_every_call_has_one_audit_record(sidecar):
    before = len(sidecar.audit())
    s3 = client(sidecar, "s3")
    s3.list_objects_v2(Bucket="agent-data")
    with pytest.raises(botocore.exceptions.ClientError):
        s3.list_objects_v2(Bucket="not-allowed")
    records = sidecar.wait_audit(before + 2)[before:]
    assert len(records) == 2
    # Chain order is sealing order: an allowed call's record is completed
    # after its response has gone out, so the denial that follows can be
    # sealed first. Each call has exactly one record either way.
    ok, denied = sorted(records, key=lambda r: r["decision"] != "allow")
    assert ok["decision"] == "allow" and ok["forwarded"] is True and ok["operation"] == "ListObjectsV2"
    assert ok["upstream_status"] == 200 and ok["statement_id"] == "bucket"
    assert ok["grants"] == [{"action": "s3:ListBucket", "resources": ["arn:aws:s3:::agent-data"]}]
    assert ok["agent_id"] == "interop-agent" and ok["task_id"] == "interop" and ok["access_key_id"].startswith("ASIA")
    assert denied["decision"] == "deny" and denied["forwarded"] is False
    assert denied["grants"][0]["resources"] == ["arn:aws:s3:::not-allowed"]
    for r in records:
        text = str(r)
        assert "SECRET" not in text.upper().replace("SECRETSMANAGER", "")


def test_admin_endpoints(sidecar):
    import urllib.request
    assert urllib.request.urlopen(f"http://127.0.0.1:{sidecar.admin_port}/healthz").read() == b"ok\n"
    assert urllib.request.urlopen(f"http://127.0.0.1:{sidecar.admin_port}/readyz").status == 200
    m = sidecar.metrics()
    assert 'rein_requests_total{decision="allow",service="s3",action="s3:ListBucket"}' in m
    assert 'rein_request_phase_duration_seconds_bucket{phase="verify"' in m
    assert 'rein_credential_refreshes_total{kind="broker",result="success"}' in m


def test_credentials_endpoint_requires_the_token(sidecar):
    import urllib.error
    import urllib.request
    req = urllib.request.Request(f"http://127.0.0.1:{sidecar.creds_port}/v1/credentials", headers={"Authorization": "wrong"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 401


def test_agent_credentials_survive_a_sidecar_restart(rein_bin, moto):
    """A sidecar restarted by its liveness probe, a crash or a rolling update
    still accepts the set its agent holds: the SDK refreshes container
    credentials only near their expiry, never because a call was refused."""
    s = Sidecar(rein_bin, moto.url, POLICY)
    try:
        session = agent_session(s)
        key = session.get_credentials().get_frozen_credentials().access_key
        sts = session.client("sts", region_name="us-east-1", endpoint_url=s.url, config=Config(retries={"max_attempts": 1}))
        assert sts.get_caller_identity()["Account"]
        state = s.dir / "state" / "agent-credentials.json"
        assert oct(state.stat().st_mode & 0o777) == "0o600"
        from sidecar_harness import wait_for

        def calls():
            return [r for r in s.audit() if r.get("operation") == "GetCallerIdentity"]
        for n, restart in enumerate(("SIGTERM", "SIGKILL"), start=1):
            # A call's record is completed just after its answer; a kill -9 before
            # that leaves an outcome-unknown intent instead (tested elsewhere).
            wait_for(lambda: len(calls()) == n, what=f"call {n}'s record")
            if restart == "SIGTERM":
                s.stop()
            else:
                s.kill9()
            s.start()
            # The same client, with the credentials it fetched before the restart.
            assert sts.get_caller_identity()["Account"], restart
            assert session.get_credentials().get_frozen_credentials().access_key == key
        assert s.credentials()["AccessKeyId"] == key, "a refresh now gets the same set, not a second one"
        assert "accepted until they expire" in s.log_text()
        mine = wait_for(lambda: len(calls()) == 3 and calls(), what="the third call's record")
        assert len(mine) == 3 and {r["decision"] for r in mine} == {"allow"}
        assert {r["access_key_id"] for r in mine} == {key}
        log = s.log_text()
        secret = session.get_credentials().get_frozen_credentials().secret_key
        assert secret not in log and secret not in (s.dir / "state" / "audit.jsonl").read_text()

        # A file others could read is not trusted: its sets are refused, the
        # file is removed, the log says why, and the agent's next fetch works.
        state.chmod(0o644)
        s.stop()
        s.start()
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            sts.get_caller_identity()
        assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"
        assert not state.exists()
        assert "readable by group or others" in s.log_text()
        fresh = agent_session(s)
        assert fresh.get_credentials().get_frozen_credentials().access_key != key
        assert fresh.client("sts", region_name="us-east-1", endpoint_url=s.url).get_caller_identity()["Account"]
    finally:
        s.stop()


def test_sighup_reloads_the_policy_file(rein_bin, moto):
    """Without a collector the policy is the file: SIGHUP puts an edited file
    in force for the next call, records the change in the trail, and a file
    that cannot apply changes nothing."""
    import signal
    import time
    moto.client("s3").create_bucket(Bucket="reload-later")
    s = Sidecar(rein_bin, moto.url, POLICY)
    try:
        s3 = client(s, "s3")
        with pytest.raises(botocore.exceptions.ClientError) as denied:
            s3.list_objects_v2(Bucket="reload-later")
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        path = s.dir / "policy.yaml"
        grown = POLICY.replace('resources: ["arn:aws:s3:::agent-data", "arn:aws:s3:::agent-data/*"]',
                               'resources: ["arn:aws:s3:::agent-data", "arn:aws:s3:::agent-data/*", "arn:aws:s3:::reload-later"]')
        assert grown != POLICY
        path.write_text(grown)
        s.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "policy_file reloaded" not in s.log_text() and time.time() < deadline:
            time.sleep(0.05)
        assert s3.list_objects_v2(Bucket="reload-later")["KeyCount"] == 0
        changes = [r for r in s.audit() if r.get("event") == "policy-change"]
        assert len(changes) == 1 and changes[0]["via"] == "policy-file" and changes[0]["operation"] == "ReloadPolicyFile"
        assert hashlib.sha256(grown.encode()).hexdigest() in changes[0]["reason"]

        # A file that does not load: the log says why, the grant stays, and the process lives on.
        path.write_text("statements: [")
        s.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "policy_file not reloaded" not in s.log_text() and time.time() < deadline:
            time.sleep(0.05)
        assert "policy_file not reloaded" in s.log_text() and s.proc.poll() is None
        assert s3.list_objects_v2(Bucket="reload-later")["KeyCount"] == 0
        assert len([r for r in s.audit() if r.get("event") == "policy-change"]) == 1
    finally:
        s.stop()


def test_check_config_says_what_a_start_would_refuse(rein_bin, moto, tmp_path):
    """`rein sidecar check-config` reads what `rein sidecar` would, says what it
    sets, and fails with exit 78 and the reason on what a start (or SIGHUP)
    would refuse; it binds nothing and calls nothing."""
    s = Sidecar(rein_bin, moto.url, POLICY)
    try:
        config = str(s.dir / "sidecar.yaml")
        ok = subprocess.run([rein_bin, "sidecar", "check-config", "--config", config], capture_output=True, timeout=60)
        out = ok.stdout.decode()
        assert ok.returncode == 0, ok.stderr.decode()
        assert out.startswith("configuration OK: ") and "agent interop-agent, task interop, 8 statement(s)" in out, out
        assert "broker     static" in out and b"rein: warning: broker.provider static" in ok.stderr
        # The running sidecar's ports are in use: the check did not try to bind them.
        assert s.proc.poll() is None

        bad_policy = tmp_path / "policy.yaml"
        bad_policy.write_text(POLICY.replace("s3:PutObject,", "s3:PutObjects,"))
        bad = subprocess.run([rein_bin, "sidecar", "check-config", "--config", config, "--policy", str(bad_policy)],
                             capture_output=True, timeout=60)
        assert bad.returncode == 78 and b"cannot be applied: it is invalid here" in bad.stderr and b"s3:PutObjects" in bad.stderr, bad.stderr
        broken = tmp_path / "sidecar.yaml"
        broken.write_text((s.dir / "sidecar.yaml").read_text().replace("mode: enforce", "mode: enforcing"))
        worse = subprocess.run([rein_bin, "sidecar", "check-config", "--config", str(broken)], capture_output=True, timeout=60)
        assert worse.returncode == 78 and b"rein: configuration: mode" in worse.stderr, worse.stderr
    finally:
        s.stop()


def test_a_changed_policy_file_applies_without_a_signal(rein_bin, moto):
    """A ConfigMap update (the file replaced by a rename) applies within
    `policy_reload_interval`, as on SIGHUP, and is recorded the same way."""
    import time
    moto.client("s3").create_bucket(Bucket="watched-later")
    s = Sidecar(rein_bin, moto.url, POLICY, extra_config="policy_reload_interval: 500ms")
    try:
        s3 = client(s, "s3")
        with pytest.raises(botocore.exceptions.ClientError):
            s3.list_objects_v2(Bucket="watched-later")
        grown = POLICY.replace('resources: ["arn:aws:s3:::agent-data", "arn:aws:s3:::agent-data/*"]',
                               'resources: ["arn:aws:s3:::agent-data", "arn:aws:s3:::agent-data/*", "arn:aws:s3:::watched-later"]')
        (s.dir / "policy.yaml.new").write_text(grown)
        os.rename(s.dir / "policy.yaml.new", s.dir / "policy.yaml")
        deadline = time.time() + 15
        while "policy_file reloaded" not in s.log_text() and time.time() < deadline:
            time.sleep(0.1)
        assert s3.list_objects_v2(Bucket="watched-later")["KeyCount"] == 0
        changes = [r for r in s.audit() if r.get("event") == "policy-change"]
        assert len(changes) == 1 and hashlib.sha256(grown.encode()).hexdigest() in changes[0]["reason"]
    finally:
        s.stop()
