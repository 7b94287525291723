"""The AWS CLI (v1 from pip, v2 from Debian) through `rein sidecar` to
moto_server, in endpoint mode and in forward-proxy (TLS interception) mode.

Allowed calls give the same result as going direct to moto, denied calls
give the access-denied error naming the action and never reach moto, and
every request leaves exactly one audit record (client_support.Tally).
Client quirks are handled as /work/shared/reference/clients.md describes;
nothing here works around the sidecar.
"""

import json
import sys
from pathlib import Path

import pytest

from client_support import Tally, bucket_names, client_env, denied, moto_keys, ok, random_file, run, sha256_file
from client_support import sidecar, tmp  # noqa: F401  (shared pytest fixtures)
from sidecar_harness import ACCOUNT

CLI_FLAVOURS = ["v1-endpoint", "v1-proxy", "v2-endpoint", "v2-proxy"]
CLI_V2 = "/usr/bin/aws"  # Debian's awscli (v2); a pip `aws` (v1) may come first on PATH





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
