"""Rein's access-denied answers, read by botocore exactly as it reads AWS's.

    cd <repo> && python3 -m pytest Tests/interop/test_error_shapes.py -q

`swift test --filter AWSErrorResponseTests` runs with $REIN_ERROR_FIXTURES
pointing at a temporary directory, where the Swift test writes one fixture
per (service, message): the status, headers and body that
`AWSErrorResponse.accessDenied` produced. Each fixture is then

1. parsed by botocore's own response parser for the service's protocol,
   with the operation's real output shape, and
2. returned by the HTTP layer of a real botocore client (through the
   `before-send` event) for a real call, which must raise `ClientError`.

Both must report the code AWS uses for an authorization failure, the exact
message (XML/JSON/CBOR escaping included) and the request id. The Swift
test also writes CBOR it encoded, which botocore's CBOR decoder must read
back to the same values.
"""

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

import botocore.model
import botocore.parsers
import botocore.session
from botocore import xform_name
from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.parsers import RpcV2CBORParser

REPO = Path(__file__).resolve().parents[2]

# name -> (botocore service, protocol spoken, operation, kwargs). botocore
# 1.43.11 lists smithy-rpc-v2-cbor for CloudWatch (and eight other services)
# but resolves every one of them to json, which it ranks first; the CBOR
# cases below make the client rank CBOR first so that botocore's own CBOR
# serializer and parser carry the call.
CASES = {
    "s3": ("s3", "rest-xml", "GetObject", {"Bucket": "agent-bucket", "Key": "reports/q1.csv"}),
    "s3control": ("s3control", "rest-xml", "GetPublicAccessBlock", {"AccountId": "123456789012"}),
    "sts": ("sts", "query", "GetCallerIdentity", {}),
    "iam": ("iam", "query", "ListUsers", {}),
    "ec2": ("ec2", "ec2", "DescribeInstances", {}),
    "dynamodb": ("dynamodb", "json", "GetItem", {"TableName": "orders", "Key": {"pk": {"S": "1"}}}),
    "kms": ("kms", "json", "ListKeys", {}),
    "sqs-query-compatible": ("sqs", "json", "ListQueues", {}),
    "lambda": ("lambda", "rest-json", "ListFunctions", {}),
    "cloudwatch-json": ("cloudwatch", "json", "ListMetrics", {}),
    "cloudwatch": ("cloudwatch", "smithy-rpc-v2-cbor", "ListMetrics", {}),
    "cloudwatch-query-compatible": ("cloudwatch", "smithy-rpc-v2-cbor", "ListMetrics", {}),
}
MESSAGES = 3

# The code AWS sends when IAM denies the caller, per protocol: what the SDKs'
# users catch. Independent of the Swift side on purpose.
EXPECTED_CODE = {
    "rest-xml": "AccessDenied",
    "query": "AccessDenied",
    "ec2": "UnauthorizedOperation",
    "json": "AccessDeniedException",
    "rest-json": "AccessDeniedException",
    "smithy-rpc-v2-cbor": "AccessDeniedException",
}
EXPECTED_STATUS = {"json": 400}  # everything else: 403


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("rein-error-fixtures")
    env = dict(os.environ, REIN_ERROR_FIXTURES=str(out))
    run = subprocess.run(
        ["swift", "test", "--filter", "AWSErrorResponseTests"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=3600,
    )
    assert run.returncode == 0, f"swift test failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    return out


def load(fixture_dir, name, n):
    path = fixture_dir / f"error-{name}-{n}.json"
    assert path.is_file(), f"the Swift test did not write {path.name}"
    return json.loads(path.read_text(encoding="utf-8"))


def expected_code(fixture):
    return "AccessDenied" if fixture["query_compatible"] else EXPECTED_CODE[fixture["protocol"]]


def clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDREININTEROP")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "rein-interop-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


CASE_IDS = [(name, n) for name in CASES for n in range(MESSAGES)]


@pytest.mark.parametrize("name,n", CASE_IDS, ids=[f"{a}-{b}" for a, b in CASE_IDS])
def test_botocore_parser_reads_code_and_message(fixture_dir, name, n):
    service, protocol, operation, _ = CASES[name]
    fixture = load(fixture_dir, name, n)
    model = botocore.session.get_session().get_service_model(service)
    assert protocol == fixture["protocol"]
    assert protocol in (model.metadata.get("protocols") or [model.protocol])
    assert fixture["status"] == EXPECTED_STATUS.get(protocol, 403)

    body = base64.b64decode(fixture["body_base64"])
    headers = HeadersDict(fixture["headers"])
    assert int(headers["Content-Length"]) == len(body)

    parser = botocore.parsers.create_parser(protocol)
    parsed = parser.parse(
        {"status_code": fixture["status"], "headers": headers, "body": body},
        model.operation_model(operation).output_shape,
    )
    assert parsed["Error"]["Code"] == expected_code(fixture)
    assert parsed["Error"]["Message"] == fixture["message"]
    assert parsed["ResponseMetadata"]["RequestId"] == fixture["request_id"]
    if fixture["query_compatible"]:
        assert parsed["Error"]["QueryErrorCode"] == "AccessDeniedException"
        assert parsed["Error"]["Type"] == "Sender"


class _Raw:
    """The urllib3-like body AWSResponse reads from."""

    def __init__(self, body):
        self._body = body

    def stream(self, **kwargs):
        yield self._body


@pytest.mark.parametrize("name,n", CASE_IDS, ids=[f"{a}-{b}" for a, b in CASE_IDS])
def test_real_client_raises_client_error(fixture_dir, monkeypatch, name, n):
    clean_env(monkeypatch)
    service, protocol, operation, kwargs = CASES[name]
    fixture = load(fixture_dir, name, n)
    if protocol == "smithy-rpc-v2-cbor":
        ranked = (protocol,) + tuple(p for p in botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS if p != protocol)
        monkeypatch.setattr(botocore.model, "PRIORITY_ORDERED_SUPPORTED_PROTOCOLS", ranked)
    client = botocore.session.get_session().create_client(
        service, region_name="us-east-1",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    sent = []

    def answer(request, **_):
        sent.append(request)
        return AWSResponse(
            request.url, fixture["status"], fixture["headers"],
            _Raw(base64.b64decode(fixture["body_base64"])),
        )

    assert client.meta.service_model.resolved_protocol == protocol
    client.meta.events.register("before-send", answer)
    with pytest.raises(ClientError) as raised:
        getattr(client, xform_name(operation))(**kwargs)

    assert len(sent) == 1, "the error must not be retried"
    content_type = sent[0].headers.get("Content-Type", b"")
    content_type = content_type.decode() if isinstance(content_type, bytes) else content_type
    if protocol == "smithy-rpc-v2-cbor":
        assert content_type == "application/cbor"
    elif protocol == "json":
        assert content_type.startswith("application/x-amz-json-")
    if fixture["query_compatible"]:
        # botocore asks query-compatible services for their query-era codes.
        assert sent[0].headers.get("x-amzn-query-mode") in ("true", b"true")
    error = raised.value.response
    assert error["Error"]["Code"] == expected_code(fixture)
    assert error["Error"]["Message"] == fixture["message"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == fixture["status"]
    assert error["ResponseMetadata"]["RequestId"] == fixture["request_id"]
    assert raised.value.operation_name == operation
    assert expected_code(fixture) in str(raised.value)


def test_botocore_decodes_rein_cbor(fixture_dir):
    vectors = json.loads((fixture_dir / "cbor-vectors.json").read_text(encoding="utf-8"))
    assert len(vectors) >= 3
    parser = RpcV2CBORParser()
    for vector in vectors:
        data = base64.b64decode(vector["cbor_base64"])
        stream = parser.get_peekable_stream_from_bytes(data)
        value = parser.parse_data_item(stream)
        assert stream.read() == b"", "botocore must consume exactly the encoded item"
        assert value == json.loads(vector["json"])


def test_botocore_resolves_cloudwatch_to_json():
    """A tripwire: boto3 users reach CloudWatch in JSON today. When botocore
    starts preferring CBOR, Rein's CBOR answers become the ones they see."""
    model = botocore.session.get_session().get_service_model("cloudwatch")
    assert "smithy-rpc-v2-cbor" in model.metadata["protocols"]
    assert model.resolved_protocol == "json"
