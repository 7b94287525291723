#!/usr/bin/env python3
"""Writes the benchmark's signed S3 GetObject for wrk (Benchmarks/sidecar.sh).

Fetches agent session credentials from the sidecar's credentials endpoint,
as an SDK does (GET /v1/credentials, Authorization = the agent token), lets
botocore build and sign `GetObject(Bucket=bench-bucket, Key=obj.json)` for
the target, and writes it as line 1 "METHOD PATH" and then one header per
line. With --check it also sends the request once and fails unless the
answer is 200 with the 1 KiB object.
"""

import argparse
import http.client
import json
import sys
import urllib.parse
import urllib.request

import botocore.session
from botocore.config import Config


class Captured(Exception):
    def __init__(self, request):
        self.request = request


def credentials(port, token_file):
    token = open(token_file).read().strip()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/credentials", headers={"Authorization": token})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def signed_request(target, creds):
    session = botocore.session.Session()
    client = session.create_client(
        "s3", region_name="us-east-1", endpoint_url=target,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["Token"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))

    def capture(request, **_):
        raise Captured(request)

    client.meta.events.register("before-send.s3.GetObject", capture)
    try:
        client.get_object(Bucket="bench-bucket", Key="obj.json")
    except Captured as c:
        return c.request
    raise RuntimeError("botocore sent nothing")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--creds-port", type=int, required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--target", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--out", required=True)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()

    req = signed_request(args.target, credentials(args.creds_port, args.token_file))
    url = urllib.parse.urlsplit(req.url)
    path = url.path + (f"?{url.query}" if url.query else "")
    headers = {"Host": url.netloc}
    for name, value in req.headers.items():
        headers[name] = value.decode() if isinstance(value, bytes) else value
    assert req.method == "GET" and path == "/bench-bucket/obj.json", (req.method, path)
    assert "X-Amz-Security-Token" in headers and headers["Authorization"].startswith("AWS4-HMAC-SHA256 ")
    with open(args.out, "w") as f:
        f.write(f"{req.method} {path}\n")
        for name, value in headers.items():
            f.write(f"{name}: {value}\n")

    if args.check:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.putrequest(req.method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200 or len(body) != 1024 or not resp.getheader("x-amz-request-id"):
            sys.exit(f"check failed: {args.target} answered {resp.status} {resp.reason}, "
                     f"{len(body)} bytes, x-amz-request-id={resp.getheader('x-amz-request-id')}\n"
                     f"{body[:2000].decode(errors='replace')}")


if __name__ == "__main__":
    main()
