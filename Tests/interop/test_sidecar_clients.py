"""Real AWS clients other than boto3 through `rein sidecar` to moto_server:
AWS CLI v1 and v2, curl --aws-sigv4, s3cmd, rclone and restic, each in
endpoint mode and in forward-proxy (TLS interception) mode.

For every client: allowed calls give the same result as going direct to
moto, denied calls give the client the AWS access-denied error naming the
action and never reach moto, and every request leaves exactly one audit
record (see client_support.Tally). Client quirks are handled as
/work/shared/reference/clients.md describes; nothing here works around the
sidecar.
"""

import hashlib
import json
import shutil
import sys
from pathlib import Path

import pytest

from client_support import Tally, client_env, denied, ok, random_file, run, sha256_file
from sidecar_harness import ACCOUNT, Sidecar, clean_env

POLICY = f"""
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

MODES = ["endpoint", "proxy"]
CLI_FLAVOURS = ["v1-endpoint", "v1-proxy", "v2-endpoint", "v2-proxy"]
CLI_V2 = "/usr/bin/aws"  # Debian's awscli (v2); a pip `aws` (v1) may come first on PATH


@pytest.fixture(scope="module")
def sidecar(rein_bin, moto):
    s = Sidecar(rein_bin, moto.url, POLICY)
    yield s
    s.stop()


@pytest.fixture()
def tmp(tmp_path):
    return tmp_path


def bucket_names(moto):
    return [b["Name"] for b in moto.client("s3").list_buckets().get("Buckets", [])]


def moto_keys(moto, bucket):
    listed = moto.client("s3").list_objects_v2(Bucket=bucket)
    return {o["Key"]: (o["Size"], o["ETag"]) for o in listed.get("Contents", [])}


# --------------------------------------------------------------------------
# AWS CLI v1 (pip) and v2 (Debian)
# --------------------------------------------------------------------------

class AwsCli:
    """One AWS CLI flavour: `v1-endpoint`, `v1-proxy`, `v2-endpoint` or `v2-proxy`."""

    def __init__(self, flavour, sidecar, tmp):
        version, mode = flavour.split("-")
        self.v2 = version == "v2"
        self.proxy = mode == "proxy"
        self.sidecar = sidecar
        self.tag = flavour
        self.env = client_env(sidecar, tmp, proxy=self.proxy)
        if self.v2:
            if not Path(CLI_V2).exists():
                pytest.skip("AWS CLI v2 (Debian awscli) not installed")
            # CLI v2.9 predates AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (it gets a
            # 401 from the credentials endpoint without a token): give it the
            # token value the older way. It also ignores AWS_ENDPOINT_URL.
            self.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = Path(sidecar.token_file).read_text().strip()
            self.base = [CLI_V2]
        else:
            self.base = [sys.executable, "-m", "awscli"]

    def __call__(self, service, *args, timeout=300):
        cmd = [*self.base, service, *map(str, args), "--output", "json"]
        # v1: sqs ignores AWS_ENDPOINT_URL (clients.md); v2.9 ignores it everywhere.
        if not self.proxy and (self.v2 or service == "sqs"):
            cmd += ["--endpoint-url", self.sidecar.url]
        return run(cmd, self.env, timeout=timeout)

    def json(self, service, *args):
        out = ok(self(service, *args)).stdout
        return json.loads(out) if out.strip() else {}


@pytest.fixture(params=CLI_FLAVOURS)
def cli(request, sidecar, tmp):
    return AwsCli(request.param, sidecar, tmp)


def test_cli_s3_put_get_list_multipart_delete(cli, sidecar, moto, tmp):
    bucket = f"agent-cli-{cli.tag}"
    t = Tally(sidecar, moto)
    cli.json("s3api", "create-bucket", "--bucket", bucket)
    t.check(["CreateBucket"], "allow")
    assert bucket in bucket_names(moto)

    small = tmp / "small.bin"
    small_sha = random_file(small, 300_000)
    t = Tally(sidecar, moto)
    ok(cli("s3", "cp", small, f"s3://{bucket}/dir/small.bin", "--only-show-errors"))
    t.check(["PutObject"], "allow")

    # 20 MiB: `aws s3 cp` switches to multipart above 8 MiB (3 parts of 8 MiB).
    big = tmp / "big.bin"
    big_sha = random_file(big, 20 << 20)
    t = Tally(sidecar, moto)
    ok(cli("s3", "cp", big, f"s3://{bucket}/dir/big.bin", "--only-show-errors"))
    t.check(["CreateMultipartUpload", "UploadPart", "UploadPart", "UploadPart", "CompleteMultipartUpload"], "allow")
    head = moto.client("s3").head_object(Bucket=bucket, Key="dir/big.bin")
    assert head["ContentLength"] == 20 << 20 and head["ETag"].endswith('-3"')

    t = Tally(sidecar, moto)
    listed = cli.json("s3api", "list-objects-v2", "--bucket", bucket)
    t.check(["ListObjectsV2"], "allow")
    assert {o["Key"]: (o["Size"], o["ETag"]) for o in listed["Contents"]} == moto_keys(moto, bucket)

    t = Tally(sidecar, moto)
    got = tmp / "got-small.bin"
    meta = cli.json("s3api", "get-object", "--bucket", bucket, "--key", "dir/small.bin", got)
    t.check(["GetObject"], "allow")
    assert sha256_file(got) == small_sha and meta["ContentLength"] == 300_000

    t = Tally(sidecar, moto)
    got_big = tmp / "got-big.bin"
    ok(cli("s3", "cp", f"s3://{bucket}/dir/big.bin", got_big, "--only-show-errors"))
    records = t.check(decision="allow")
    ops = [r["operation"] for r in records]
    assert ops[0] == "HeadObject" and set(ops[1:]) == {"GetObject"}, ops
    assert sha256_file(got_big) == big_sha

    t = Tally(sidecar, moto)
    ok(cli("s3", "rm", f"s3://{bucket}/dir/small.bin", "--only-show-errors"))
    t.check(["DeleteObject"], "allow")
    assert "dir/small.bin" not in moto_keys(moto, bucket)


def test_cli_s3_denied_never_reaches_moto(cli, sidecar, moto, tmp):
    other = f"private-cli-{cli.tag}"
    t = Tally(sidecar, moto)
    denied(cli("s3api", "create-bucket", "--bucket", other), "s3:CreateBucket", other)
    t.check(["CreateBucket"], "deny")
    assert other not in bucket_names(moto)

    f = tmp / "x.bin"
    random_file(f, 1000)
    t = Tally(sidecar, moto)
    denied(cli("s3api", "put-object", "--bucket", other, "--key", "k", "--body", f), "s3:PutObject", f"{other}/k")
    t.check(["PutObject"], "deny")


def test_cli_dynamodb(cli, sidecar, moto):
    table = f"orders-{cli.tag}"
    schema = ["--key-schema", "AttributeName=id,KeyType=HASH", "--attribute-definitions", "AttributeName=id,AttributeType=S",
              "--billing-mode", "PAY_PER_REQUEST"]
    t = Tally(sidecar, moto)
    created = cli.json("dynamodb", "create-table", "--table-name", table, *schema)
    t.check(["CreateTable"], "allow")
    assert created["TableDescription"]["TableName"] == table

    t = Tally(sidecar, moto)
    cli.json("dynamodb", "put-item", "--table-name", table, "--item", '{"id": {"S": "1"}, "total": {"N": "42"}}')
    t.check(["PutItem"], "allow")
    t = Tally(sidecar, moto)
    item = cli.json("dynamodb", "get-item", "--table-name", table, "--key", '{"id": {"S": "1"}}')["Item"]
    t.check(["GetItem"], "allow")
    assert item == moto.client("dynamodb").get_item(TableName=table, Key={"id": {"S": "1"}})["Item"]
    assert item["total"] == {"N": "42"}

    other = f"payroll-{cli.tag}"
    t = Tally(sidecar, moto)
    proc = denied(cli("dynamodb", "create-table", "--table-name", other, *schema), "dynamodb:CreateTable", f"table/{other}")
    assert "AccessDeniedException" in proc.stderr
    t.check(["CreateTable"], "deny")
    assert other not in moto.client("dynamodb").list_tables()["TableNames"]


def test_cli_sqs(cli, sidecar, moto):
    queue = f"jobs-{cli.tag}"
    t = Tally(sidecar, moto)
    url = cli.json("sqs", "create-queue", "--queue-name", queue)["QueueUrl"]
    t.check(["CreateQueue"], "allow")
    assert url.endswith(f"/{ACCOUNT}/{queue}")
    t = Tally(sidecar, moto)
    sent = cli.json("sqs", "send-message", "--queue-url", url, "--message-body", "hello")
    t.check(["SendMessage"], "allow")
    t = Tally(sidecar, moto)
    got = cli.json("sqs", "receive-message", "--queue-url", url, "--wait-time-seconds", "0")
    t.check(["ReceiveMessage"], "allow")
    assert [m["Body"] for m in got["Messages"]] == ["hello"] and got["Messages"][0]["MessageId"] == sent["MessageId"]

    other = f"other-{cli.tag}"
    t = Tally(sidecar, moto)
    denied(cli("sqs", "create-queue", "--queue-name", other), "sqs:CreateQueue", other)
    t.check(["CreateQueue"], "deny")
    assert not any(u.endswith("/" + other) for u in moto.client("sqs").list_queues().get("QueueUrls", []))


def test_cli_sns(cli, sidecar, moto):
    topic = f"alerts-{cli.tag}"
    t = Tally(sidecar, moto)
    arn = cli.json("sns", "create-topic", "--name", topic)["TopicArn"]
    t.check(["CreateTopic"], "allow")
    assert arn == f"arn:aws:sns:us-east-1:{ACCOUNT}:{topic}"
    t = Tally(sidecar, moto)
    assert cli.json("sns", "publish", "--topic-arn", arn, "--message", "m")["MessageId"]
    t.check(["Publish"], "allow")
    topics = [x["TopicArn"] for x in moto.client("sns").list_topics()["Topics"]]
    assert arn in topics

    t = Tally(sidecar, moto)
    denied(cli("sns", "create-topic", "--name", f"other-{cli.tag}"), "sns:CreateTopic")
    t.check(["CreateTopic"], "deny")
    assert not any(a.endswith(f":other-{cli.tag}") for a in [x["TopicArn"] for x in moto.client("sns").list_topics()["Topics"]])


def test_cli_sts_iam_secrets_lambda(cli, sidecar, moto):
    t = Tally(sidecar, moto)
    ident = cli.json("sts", "get-caller-identity")
    t.check(["GetCallerIdentity"], "allow")
    assert ident["Account"] == ACCOUNT

    user = f"backdoor-{cli.tag}"
    t = Tally(sidecar, moto)
    denied(cli("iam", "create-user", "--user-name", user), "iam:CreateUser")
    [r] = t.check(["CreateUser"], "deny")
    assert r["statement_id"] == "never-iam-writes"
    t = Tally(sidecar, moto)
    users = cli.json("iam", "list-users")["Users"]
    t.check(["ListUsers"], "allow")
    assert [u["UserName"] for u in users] == [u["UserName"] for u in moto.client("iam").list_users()["Users"]]
    assert user not in [u["UserName"] for u in users]

    name = f"app/{cli.tag}"
    t = Tally(sidecar, moto)
    cli.json("secretsmanager", "create-secret", "--name", name, "--secret-string", "s3cr3t")
    t.check(["CreateSecret"], "allow")
    t = Tally(sidecar, moto)
    value = cli.json("secretsmanager", "get-secret-value", "--secret-id", name)
    t.check(["GetSecretValue"], "allow")
    assert value["SecretString"] == "s3cr3t" == moto.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    other = f"prod/{cli.tag}"
    t = Tally(sidecar, moto)
    denied(cli("secretsmanager", "create-secret", "--name", other, "--secret-string", "x"), "secretsmanager:CreateSecret")
    t.check(["CreateSecret"], "deny")
    assert other not in [s["Name"] for s in moto.client("secretsmanager").list_secrets()["SecretList"]]

    t = Tally(sidecar, moto)
    fns = cli.json("lambda", "list-functions")
    t.check(["ListFunctions"], "allow")
    assert fns["Functions"] == moto.client("lambda").list_functions()["Functions"]
    # Allowed and forwarded; moto has no such function, and the CLI shows moto's 404.
    t = Tally(sidecar, moto)
    proc = cli("lambda", "get-function", "--function-name", "report")
    assert proc.returncode != 0 and "ResourceNotFoundException" in proc.stderr, proc.stderr
    [r] = t.check(["GetFunction"], "allow")
    assert r["upstream_status"] == 404
    t = Tally(sidecar, moto)
    denied(cli("lambda", "delete-function", "--function-name", "other"), "lambda:DeleteFunction")
    t.check(["DeleteFunction"], "deny")


# --------------------------------------------------------------------------
# curl --aws-sigv4
# --------------------------------------------------------------------------

class Curl:
    """curl signing with the agent's session credentials (it cannot use the
    credentials endpoint). Sends no x-amz-content-sha256; uploads use
    --data-binary @file (-T signs an empty-body hash, a curl bug)."""

    def __init__(self, sidecar, mode, tmp):
        self.sidecar = sidecar
        self.proxy = mode == "proxy"
        self.tmp = tmp
        self.creds = sidecar.credentials()
        self.env = clean_env()
        self.n = 0

    def url(self, service, path="/", bucket=None):
        if not self.proxy:
            return self.sidecar.url + (f"/{bucket}" if bucket else "") + path
        host = {"s3": f"{bucket}.s3.us-east-1.amazonaws.com" if bucket else "s3.us-east-1.amazonaws.com",
                "dynamodb": "dynamodb.us-east-1.amazonaws.com", "sts": "sts.amazonaws.com"}[service]
        return f"https://{host}{path}"

    def __call__(self, service, url, *args):
        """Returns (status, body bytes)."""
        self.n += 1
        out = self.tmp / f"curl-out-{self.n}"
        c = self.creds
        cmd = ["curl", "-sS", "--aws-sigv4", f"aws:amz:us-east-1:{service}", "--user", f"{c['AccessKeyId']}:{c['SecretAccessKey']}",
               "-H", f"x-amz-security-token: {c['Token']}", "-o", str(out), "-w", "%{http_code}", *map(str, args), url]
        if self.proxy:
            cmd[1:1] = ["--proxy", self.sidecar.url, "--cacert", self.sidecar.ca_file]
        proc = ok(run(cmd, self.env))
        return int(proc.stdout.strip()), out.read_bytes() if out.exists() else b""

    def dynamodb(self, target, body):
        return self("dynamodb", self.url("dynamodb"), "-X", "POST", "-H", f"X-Amz-Target: DynamoDB_20120810.{target}",
                    "-H", "Content-Type: application/x-amz-json-1.0", "--data-binary", json.dumps(body))


@pytest.mark.parametrize("mode", MODES)
def test_curl_s3_put_get_list_and_denied(mode, sidecar, moto, tmp):
    curl = Curl(sidecar, mode, tmp)
    bucket = f"agent-curl-{mode}"
    t = Tally(sidecar, moto)
    status, body = curl("s3", curl.url("s3", "/", bucket), "-X", "PUT")
    assert status == 200, body
    t.check(["CreateBucket"], "allow")
    assert bucket in bucket_names(moto)

    f = tmp / "obj.bin"
    sha = random_file(f, 1_500_000)
    t = Tally(sidecar, moto)
    status, body = curl("s3", curl.url("s3", "/dir/obj.bin", bucket), "-X", "PUT", "-H", "Content-Type: application/octet-stream",
                        "--data-binary", f"@{f}")
    assert status == 200, body
    t.check(["PutObject"], "allow")
    assert moto_keys(moto, bucket)["dir/obj.bin"][0] == 1_500_000

    t = Tally(sidecar, moto)
    status, body = curl("s3", curl.url("s3", "/dir/obj.bin", bucket))
    assert status == 200
    t.check(["GetObject"], "allow")
    assert hashlib.sha256(body).hexdigest() == sha

    t = Tally(sidecar, moto)
    status, body = curl("s3", curl.url("s3", "/?list-type=2", bucket))
    assert status == 200, body
    t.check(["ListObjectsV2"], "allow")
    assert b"<Key>dir/obj.bin</Key>" in body and b"<Size>1500000</Size>" in body

    other = f"private-curl-{mode}"
    t = Tally(sidecar, moto)
    status, body = curl("s3", curl.url("s3", "/", other), "-X", "PUT")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body and b"s3:CreateBucket" in body, body
    t.check(["CreateBucket"], "deny")
    assert other not in bucket_names(moto)
    t = Tally(sidecar, moto)
    status, body = curl("s3", curl.url("s3", "/k", other), "-X", "PUT", "-H", "Content-Type: application/octet-stream",
                        "--data-binary", f"@{f}")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body and b"s3:PutObject" in body, body
    t.check(["PutObject"], "deny")
    t = Tally(sidecar, moto)
    status, body = curl("s3", curl.url("s3", "/dir/obj.bin", other))
    assert status == 403 and b"s3:GetObject" in body, body
    t.check(["GetObject"], "deny")


@pytest.mark.parametrize("mode", MODES)
def test_curl_dynamodb_json_and_sts_query(mode, sidecar, moto, tmp):
    curl = Curl(sidecar, mode, tmp)
    table = f"orders-curl-{mode}"
    t = Tally(sidecar, moto)
    status, body = curl.dynamodb("CreateTable", {
        "TableName": table, "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"})
    assert status == 200, body
    t.check(["CreateTable"], "allow")
    t = Tally(sidecar, moto)
    status, body = curl.dynamodb("PutItem", {"TableName": table, "Item": {"id": {"S": "7"}, "note": {"S": "via curl"}}})
    assert status == 200, body
    t.check(["PutItem"], "allow")
    t = Tally(sidecar, moto)
    status, body = curl.dynamodb("GetItem", {"TableName": table, "Key": {"id": {"S": "7"}}})
    assert status == 200, body
    t.check(["GetItem"], "allow")
    assert json.loads(body)["Item"] == moto.client("dynamodb").get_item(TableName=table, Key={"id": {"S": "7"}})["Item"]

    t = Tally(sidecar, moto)
    status, body = curl.dynamodb("PutItem", {"TableName": "payroll", "Item": {"id": {"S": "1"}}})
    err = json.loads(body)
    assert status == 400 and err["__type"].endswith("AccessDeniedException"), body
    assert "dynamodb:PutItem" in (err.get("message") or err.get("Message")) and "table/payroll" in body.decode()
    t.check(["PutItem"], "deny")

    t = Tally(sidecar, moto)
    status, body = curl("sts", curl.url("sts"), "-X", "POST", "-H", "Content-Type: application/x-www-form-urlencoded",
                        "--data-binary", "Action=GetCallerIdentity&Version=2011-06-15")
    assert status == 200 and f"<Account>{ACCOUNT}</Account>".encode() in body, body
    t.check(["GetCallerIdentity"], "allow")


# --------------------------------------------------------------------------
# s3cmd
# --------------------------------------------------------------------------

def s3cmd_config(sidecar, mode, tmp):
    c = sidecar.credentials()
    lines = ["[default]", f"access_key = {c['AccessKeyId']}", f"secret_key = {c['SecretAccessKey']}",
             f"access_token = {c['Token']}", "signature_v2 = False", "bucket_location = us-east-1",
             "check_ssl_certificate = True", "check_ssl_hostname = True", "progress_meter = False"]
    if mode == "endpoint":
        host = sidecar.url.removeprefix("http://")
        lines += [f"host_base = {host}", f"host_bucket = {host}", "use_https = False"]
    else:
        lines += ["host_base = s3.amazonaws.com", "host_bucket = %(bucket)s.s3.amazonaws.com", "use_https = True",
                  "proxy_host = 127.0.0.1", f"proxy_port = {sidecar.port}", f"ca_certs_file = {sidecar.ca_file}"]
    path = tmp / "s3cfg"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.skipif(not shutil.which("s3cmd"), reason="s3cmd not installed")
@pytest.mark.parametrize("mode", MODES)
def test_s3cmd(mode, sidecar, moto, tmp):
    cfg = s3cmd_config(sidecar, mode, tmp)
    env = clean_env()
    env["HOME"] = str(tmp)

    def s3cmd(*args):
        return run(["s3cmd", "-c", str(cfg), *map(str, args)], env)

    bucket = f"agent-s3cmd-{mode}"
    t = Tally(sidecar, moto)
    ok(s3cmd("mb", f"s3://{bucket}"))
    t.check(["CreateBucket"], "allow")

    small = tmp / "small.bin"
    small_sha = random_file(small, 200_000)
    t = Tally(sidecar, moto)
    ok(s3cmd("put", small, f"s3://{bucket}/small.bin"))
    t.check(["PutObject"], "allow")

    big = tmp / "big.bin"
    big_sha = random_file(big, 12_000_000)
    t = Tally(sidecar, moto)
    ok(s3cmd("put", "--multipart-chunk-size-mb=5", big, f"s3://{bucket}/big.bin"))
    t.check(["CreateMultipartUpload", "UploadPart", "UploadPart", "UploadPart", "CompleteMultipartUpload"], "allow")

    t = Tally(sidecar, moto)
    listing = ok(s3cmd("ls", f"s3://{bucket}")).stdout
    t.check(["ListObjects"], "allow")
    direct = moto_keys(moto, bucket)
    assert sorted(direct) == ["big.bin", "small.bin"]
    # s3cmd ls: DATE TIME SIZE URL per object
    seen = {line.split()[3]: int(line.split()[2]) for line in listing.splitlines() if line.strip()}
    assert seen == {f"s3://{bucket}/{k}": size for k, (size, _) in direct.items()}, listing

    for key, sha in (("big.bin", big_sha), ("small.bin", small_sha)):
        got = tmp / f"got-{key}"
        t = Tally(sidecar, moto)
        ok(s3cmd("get", "--force", f"s3://{bucket}/{key}", got))
        ops = [r["operation"] for r in t.check(decision="allow")]
        assert "GetObject" in ops and set(ops) <= {"HeadObject", "GetObject"}, ops
        assert sha256_file(got) == sha

    t = Tally(sidecar, moto)
    ok(s3cmd("del", f"s3://{bucket}/small.bin"))
    t.check(["DeleteObject"], "allow")
    assert "small.bin" not in moto_keys(moto, bucket)

    other = f"private-s3cmd-{mode}"
    t = Tally(sidecar, moto)
    denied(s3cmd("mb", f"s3://{other}"), "s3:CreateBucket", other)
    t.check(["CreateBucket"], "deny")
    assert other not in bucket_names(moto)
    t = Tally(sidecar, moto)
    denied(s3cmd("put", small, f"s3://{other}/small.bin"), "s3:PutObject")
    t.check(["PutObject"], "deny")


# --------------------------------------------------------------------------
# rclone (aws-sdk-go v1)
# --------------------------------------------------------------------------

@pytest.mark.skipif(not shutil.which("rclone"), reason="rclone not installed")
@pytest.mark.parametrize("mode", MODES)
def test_rclone(mode, sidecar, moto, tmp):
    c = sidecar.credentials()
    (tmp / "rclone.conf").write_text("")
    env = clean_env()  # rclone fails whenever AWS_CA_BUNDLE is set: it must stay unset
    env.update({"HOME": str(tmp), "RCLONE_CONFIG": str(tmp / "rclone.conf"), "RCLONE_CONFIG_REIN_TYPE": "s3",
                "RCLONE_CONFIG_REIN_ENV_AUTH": "false", "RCLONE_CONFIG_REIN_ACCESS_KEY_ID": c["AccessKeyId"],
                "RCLONE_CONFIG_REIN_SECRET_ACCESS_KEY": c["SecretAccessKey"], "RCLONE_CONFIG_REIN_SESSION_TOKEN": c["Token"],
                "RCLONE_CONFIG_REIN_REGION": "us-east-1"})
    base = ["rclone", "--retries", "1", "--low-level-retries", "1", "--s3-no-head"]
    if mode == "endpoint":
        # Provider "Other": path-style requests to the endpoint (AWS forces virtual hosts).
        env.update({"RCLONE_CONFIG_REIN_PROVIDER": "Other", "RCLONE_CONFIG_REIN_ENDPOINT": sidecar.url})
    else:
        env.update({"RCLONE_CONFIG_REIN_PROVIDER": "AWS", "HTTPS_PROXY": sidecar.url})
        base += ["--ca-cert", sidecar.ca_file]

    def rclone(*args):
        return run([*base, *map(str, args)], env)

    bucket = f"agent-rclone-{mode}"
    t = Tally(sidecar, moto)
    ok(rclone("mkdir", f"rein:{bucket}"))
    t.check(["CreateBucket"], "allow")

    small = tmp / "small.bin"
    small_sha = random_file(small, 250_000)
    t = Tally(sidecar, moto)
    ok(rclone("copyto", small, f"rein:{bucket}/dir/small.bin"))
    ops = [r["operation"] for r in t.check(decision="allow")]
    assert ops.count("PutObject") == 1 and set(ops) <= {"HeadObject", "CreateBucket", "PutObject"}, ops

    big = tmp / "big.bin"
    big_sha = random_file(big, 12_000_000)
    t = Tally(sidecar, moto)
    ok(rclone("copyto", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", big, f"rein:{bucket}/dir/big.bin"))
    ops = [r["operation"] for r in t.check(decision="allow")]
    mp = [o for o in ops if o not in ("HeadObject", "CreateBucket")]
    assert mp == ["CreateMultipartUpload", "UploadPart", "UploadPart", "UploadPart", "CompleteMultipartUpload"], ops

    t = Tally(sidecar, moto)
    listing = ok(rclone("lsjson", "-R", f"rein:{bucket}")).stdout
    ops = [r["operation"] for r in t.check(decision="allow")]
    # rclone lists, then HEADs each object for its metadata (mtime)
    assert ops[0] in ("ListObjects", "ListObjectsV2") and set(ops[1:]) <= {"ListObjects", "ListObjectsV2", "HeadObject"}, ops
    files = {e["Path"]: e["Size"] for e in json.loads(listing) if not e["IsDir"]}
    assert files == {k: v[0] for k, v in moto_keys(moto, bucket).items()}

    for key, sha in (("dir/big.bin", big_sha), ("dir/small.bin", small_sha)):
        got = tmp / ("got-" + key.replace("/", "-"))
        t = Tally(sidecar, moto)
        ok(rclone("copyto", f"rein:{bucket}/{key}", got))
        ops = [r["operation"] for r in t.check(decision="allow")]
        assert "GetObject" in ops, ops
        assert sha256_file(got) == sha

    t = Tally(sidecar, moto)
    ok(rclone("deletefile", f"rein:{bucket}/dir/small.bin"))
    ops = [r["operation"] for r in t.check(decision="allow")]
    assert "DeleteObject" in ops, ops
    assert "dir/small.bin" not in moto_keys(moto, bucket)

    other = f"private-rclone-{mode}"
    t = Tally(sidecar, moto)
    denied(rclone("mkdir", f"rein:{other}"), "s3:CreateBucket", other)
    t.check(["CreateBucket"], "deny")
    assert other not in bucket_names(moto)
    t = Tally(sidecar, moto)
    denied(rclone("lsf", f"rein:{other}"), "s3:ListBucket", other)
    t.check(decision="deny")


# --------------------------------------------------------------------------
# restic (minio-go): signed streaming uploads without Content-Encoding over http
# --------------------------------------------------------------------------

@pytest.mark.skipif(not shutil.which("restic"), reason="restic not installed")
@pytest.mark.parametrize("mode", MODES)
def test_restic_backup_and_restore(mode, sidecar, moto, tmp):
    c = sidecar.credentials()
    env = clean_env()
    env.update({"HOME": str(tmp), "RESTIC_PASSWORD": "interop", "AWS_ACCESS_KEY_ID": c["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": c["SecretAccessKey"], "AWS_SESSION_TOKEN": c["Token"],
                "RESTIC_CACHE_DIR": str(tmp / "cache")})
    bucket = f"agent-restic-{mode}"
    extra = []
    if mode == "endpoint":
        repo = f"s3:{sidecar.url}/{bucket}"
    else:
        repo = f"s3:https://s3.amazonaws.com/{bucket}"
        env["HTTPS_PROXY"] = sidecar.url
        extra = ["--cacert", sidecar.ca_file]

    def restic(*args, repo=repo):
        return run(["restic", "-r", repo, *extra, *map(str, args)], env, timeout=300)

    src = tmp / "src"
    (src / "sub").mkdir(parents=True)
    shas = {"a.txt": None, "sub/b.bin": None, "sub/big.bin": None}
    (src / "a.txt").write_text("hello restic\n")
    random_file(src / "sub" / "b.bin", 100_000)
    random_file(src / "sub" / "big.bin", 9_000_000)
    for rel in shas:
        shas[rel] = sha256_file(src / rel)

    t = Tally(sidecar, moto)
    ok(restic("init"))
    ok(restic("backup", src))
    snaps = json.loads(ok(restic("snapshots", "--json")).stdout)
    assert len(snaps) == 1
    ok(restic("restore", "latest", "--target", tmp / "restored"))
    ok(restic("check", "--read-data"))
    records = t.check(decision="allow")
    assert {"PutObject", "GetObject"} <= {r["operation"] for r in records}
    restored = tmp / "restored" / str(src).lstrip("/")
    for rel, sha in shas.items():
        assert sha256_file(restored / rel) == sha, rel
    # Everything restic wrote is in moto's bucket.
    keys = moto_keys(moto, bucket)
    assert "config" in keys and any(k.startswith("snapshots/") for k in keys) and any(k.startswith("data/") for k in keys)

    other = f"private-restic-{mode}"
    other_repo = f"s3:{sidecar.url}/{other}" if mode == "endpoint" else f"s3:https://s3.amazonaws.com/{other}"
    t = Tally(sidecar, moto)
    proc = restic("init", repo=other_repo)
    assert proc.returncode != 0
    assert "Access Denied" in proc.stderr or "AccessDenied" in proc.stderr or "not authorized" in proc.stderr, proc.stderr
    t.check(decision="deny")
    assert other not in bucket_names(moto)
