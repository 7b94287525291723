"""`rein catalog explain` and `rein catalog services` on real recorded requests."""

import base64
import json
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "Tests/interop/catalog_corpus/corpus.jsonl"


def records(ids):
    out = {}
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec["id"] in ids:
            out[rec["id"]] = rec
    return out


def explain(rein_bin, raw, *extra):
    return subprocess.run([rein_bin, "catalog", "explain", "--account", "123456789012", "--json", *extra],
                          input=raw, capture_output=True, timeout=60)


@pytest.mark.parametrize("rid", ["s3-0051", "dynamodb-0038", "lambda-0004", "sqs-0007", "kms-0014", "ec2-0022"])
def test_explain_matches_the_corpus(rein_bin, rid):
    rec = records({rid})[rid]
    proc = explain(rein_bin, base64.b64decode(rec["request"]))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["verdict"] == "known" and out["reason"] is None
    assert out["service"] == rec["botocore_service"]
    assert out["region"] == rec["region"]
    assert out["operation"] == rec["operation"]
    assert sorted(out["actions"]) == rec["actions"]
    assert sorted(out["resources"]) == rec["resources"]


def test_unknown_operation_is_denied_with_a_reason(rein_bin):
    raw = (b"POST / HTTP/1.1\r\nHost: dynamodb.us-east-1.amazonaws.com\r\n"
           b"X-Amz-Target: DynamoDB_20120810.DropEverything\r\nX-Amz-Date: 20260101T000000Z\r\n"
           b"Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, "
           b"SignedHeaders=host;x-amz-date, Signature=00\r\nContent-Length: 2\r\n\r\n{}")
    proc = explain(rein_bin, raw)
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["verdict"] == "unknown"
    assert "DropEverything" in out["reason"]
    assert out["actions"] == [] and out["resources"] == []


def test_body_over_the_limit_is_not_inspected(rein_bin):
    rec = records({"dynamodb-0038"})["dynamodb-0038"]
    proc = explain(rein_bin, base64.b64decode(rec["request"]), "--max-body", "10")
    assert proc.returncode == 1
    assert "body-not-inspected" in json.loads(proc.stdout)["reason"]


def test_services_lists_every_botocore_service(rein_bin):
    proc = subprocess.run([rein_bin, "catalog", "services", "--json"], capture_output=True, timeout=120, check=True)
    rows = json.loads(proc.stdout)
    assert len(rows) >= 400
    s3 = next(r for r in rows if r["service"] == "s3")
    assert s3["signing_name"] == "s3" and s3["protocol"] == "rest-xml" and s3["operations"] > 90
    text = subprocess.run([rein_bin, "catalog", "services"], capture_output=True, timeout=120, check=True).stdout.decode()
    assert "dynamodb" in text and "botocore 1.43.11" in text
