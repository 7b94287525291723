"""curl --aws-sigv4, s3cmd, rclone and restic through `rein sidecar` to
moto_server, each in endpoint mode and in forward-proxy (TLS interception)
mode, with the same checks as the AWS CLI tests: same result as direct,
denials never reach moto, one audit record per request.
"""

import hashlib
import json
import shutil

import pytest

from client_support import MODES, Tally, bucket_names, denied, moto_keys, ok, random_file, run, sha256_file
from client_support import sidecar, tmp  # noqa: F401  (shared pytest fixtures)
from sidecar_harness import ACCOUNT, clean_env





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
