"""The sidecar's HTTP hardening, proxy refusals, signed aws-chunked uploads
and fail-closed behaviour, driven over raw sockets against a real sidecar
and moto_server."""

import datetime
import hashlib
import hmac
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from sidecar_harness import ACCOUNT, Sidecar

POLICY = f"""
apiVersion: rein.dev/v1alpha1
kind: TaskPolicy
agent: {{id: hardening-agent, owner: qa@example.com}}
task: {{id: hardening, purpose: hardening tests, notBefore: 2026-01-01T00:00:00Z, notAfter: 2027-12-31T00:00:00Z}}
mode: enforce
statements:
  - id: bucket
    effect: allow
    actions: [s3:CreateBucket, s3:PutObject, s3:GetObject, s3:ListBucket]
    resources: ["arn:aws:s3:::hard", "arn:aws:s3:::hard/*"]
"""

LIMITS = """
limits:
  max_header_bytes: 8KiB
  header_timeout: 2s
  idle_timeout: 30s
  max_connections: 24
"""


@pytest.fixture(scope="module", autouse=True)
def hard_bucket(moto):
    moto.client("s3").create_bucket(Bucket="hard")


@pytest.fixture(scope="module")
def sidecar(rein_bin, moto):
    s = Sidecar(rein_bin, moto.url, POLICY, extra_config=LIMITS)
    yield s
    s.stop()


def exchange(port, raw, timeout=5.0, source=None):
    """Sends raw bytes, returns everything the sidecar answers until it closes or goes quiet."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0) if source else None)
    try:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sidecar answered (or refused) before reading everything
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)
    finally:
        s.close()


def status_of(response):
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1") else None


# ---------------------------------------------------------------- signing


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret, date, region="us-east-1", service="s3"):
    k = _hmac(("AWS4" + secret).encode(), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def chunked_put(creds, host, path, data, chunk_size=65536, tamper_chunk=None):
    """A PUT with STREAMING-AWS4-HMAC-SHA256-PAYLOAD, signed chunk by chunk (as the Java SDK v1 and restic send)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    scope = f"{date}/us-east-1/s3/aws4_request"
    chunks = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    # Encoded length: each frame is hex(size);chunk-signature=<64>\r\n data \r\n
    encoded_len = sum(len(f"{len(c):x};chunk-signature=") + 64 + 2 + len(c) + 2 for c in chunks)
    headers = {
        "content-encoding": "aws-chunked",
        "content-length": str(encoded_len),
        "host": host,
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "x-amz-date": amz_date,
        "x-amz-decoded-content-length": str(len(data)),
        "x-amz-security-token": creds["Token"],
    }
    names = sorted(headers)
    canonical = "\n".join(["PUT", path, "", *[f"{n}:{headers[n]}" for n in names], "", ";".join(names),
                           "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = signing_key(creds["SecretAccessKey"], date)
    seed = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={creds['AccessKeyId']}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={seed}")
    body = b""
    prev = seed
    empty = hashlib.sha256(b"").hexdigest()
    for i, c in enumerate(chunks):
        s = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty, hashlib.sha256(c).hexdigest()])
        sig = hmac.new(key, s.encode(), hashlib.sha256).hexdigest()
        prev = sig
        payload = c
        if tamper_chunk == i and c:
            payload = bytes([c[0] ^ 1]) + c[1:]
        body += f"{len(c):x};chunk-signature={sig}\r\n".encode() + payload + b"\r\n"
    assert len(body) == encoded_len
    head = f"PUT {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + body


def test_signed_aws_chunked_upload_is_verified_and_resigned(sidecar, moto):
    creds = sidecar.credentials()
    data = bytes(range(256)) * 1000  # 256,000 bytes: several chunks
    raw = chunked_put(creds, f"127.0.0.1:{sidecar.port}", "/hard/chunked.bin", data)
    response = exchange(sidecar.port, raw)
    assert status_of(response) == 200, response[:500]
    got = moto.client("s3").get_object(Bucket="hard", Key="chunked.bin")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


def test_tampered_aws_chunk_is_rejected_and_the_object_never_lands(sidecar, moto):
    creds = sidecar.credentials()
    data = b"x" * 200_000
    raw = chunked_put(creds, f"127.0.0.1:{sidecar.port}", "/hard/tampered.bin", data, tamper_chunk=1)
    response = exchange(sidecar.port, raw)
    assert status_of(response) == 403, response[:500]
    assert b"SignatureDoesNotMatch" in response
    s3 = moto.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="hard").get("Contents", [])]
    assert "tampered.bin" not in keys
    record = [r for r in sidecar.wait_audit(1) if r.get("operation") == "PutObject" and r["grants"][0]["resources"] == ["arn:aws:s3:::hard/tampered.bin"]]
    assert record and record[-1]["decision"] == "error" and record[-1]["error_code"] == "SignatureDoesNotMatch"


@pytest.mark.parametrize("raw", [
    # Content-Length and Transfer-Encoding together (request smuggling).
    b"PUT /hard/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    # Two different lengths.
    b"PUT /hard/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    # obs-fold (a continuation line).
    b"GET /hard/a HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
    # A length that is not a number.
    b"PUT /hard/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nhello",
])
def test_ambiguous_framing_is_rejected(sidecar, raw):
    response = exchange(sidecar.port, raw)
    assert status_of(response) == 400, response[:300]


def test_oversized_head_gets_431(sidecar):
    raw = b"GET /hard/a HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    response = exchange(sidecar.port, raw)
    assert status_of(response) == 431, response[:300]


def test_slow_head_is_cut_off(sidecar):
    s = socket.create_connection(("127.0.0.1", sidecar.port), timeout=10)
    start = time.time()
    s.sendall(b"GET /hard/a HTTP/1.1\r\nHost: x\r\n")
    try:
        data = s.recv(100)
    except ConnectionResetError:
        data = b""
    elapsed = time.time() - start
    s.close()
    assert data == b"" and 1.5 <= elapsed <= 8, (data, elapsed)


def test_connection_limit(sidecar):
    held = [socket.create_connection(("127.0.0.1", sidecar.port), timeout=5) for _ in range(24)]
    try:
        time.sleep(0.3)
        extra = socket.create_connection(("127.0.0.1", sidecar.port), timeout=5)
        extra.settimeout(3)
        try:
            data = extra.recv(10)
        except ConnectionResetError:
            data = b""
        assert data == b""
        extra.close()
    finally:
        for s in held:
            s.close()
    time.sleep(0.3)
    # Below the limit again: served.
    assert status_of(exchange(sidecar.port, b"GET /hard/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) in (400, 403)


def test_connect_to_a_non_aws_host_is_refused(sidecar):
    response = exchange(sidecar.port, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
    assert status_of(response) == 403
    response = exchange(sidecar.port, b"CONNECT s3.amazonaws.com:80 HTTP/1.1\r\nHost: s3.amazonaws.com:80\r\n\r\n")
    assert status_of(response) == 403
    tunnels = [r for r in sidecar.wait_audit(1) if r["via"] == "tunnel"]
    assert any(r["upstream_host"] == "example.com:443" and r["decision"] == "deny" for r in tunnels)


def test_absolute_form_with_a_different_host_is_refused(sidecar):
    raw = (b"GET http://s3.us-east-1.amazonaws.com/hard/a HTTP/1.1\r\nHost: evil.example.com\r\n"
           b"Authorization: AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00\r\n"
           b"Connection: close\r\n\r\n")
    response = exchange(sidecar.port, raw)
    assert status_of(response) == 400


def test_denied_upload_with_expect_continue_gets_no_100_and_no_body_is_read(sidecar, moto):
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    creds = sidecar.credentials()
    url = f"http://127.0.0.1:{sidecar.port}/not-this-bucket/x.bin"
    req = botocore.awsrequest.AWSRequest(method="PUT", url=url, data=b"z" * 10,
                                         headers={"Content-Type": "application/octet-stream"})
    req.headers["X-Amz-Content-SHA256"] = hashlib.sha256(b"z" * 10).hexdigest()
    botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["Token"]),
                              "s3", "us-east-1").add_auth(req)
    head = f"PUT /not-this-bucket/x.bin HTTP/1.1\r\nHost: 127.0.0.1:{sidecar.port}\r\nContent-Length: 10\r\nExpect: 100-continue\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in req.headers.items() if k.lower() != "host") + "\r\n"
    response = exchange(sidecar.port, head.encode())  # the body is never sent
    assert status_of(response) == 403 and b"100 Continue" not in response
    assert b"AccessDenied" in response


def test_clients_outside_allowed_cidrs_are_refused(rein_bin, moto):
    s = Sidecar(rein_bin, moto.url, POLICY, extra_config="allowed_clients: [127.0.0.2/32]")
    try:
        raw = b"GET /hard/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        assert exchange(s.port, raw, source="127.0.0.1") == b""
        assert status_of(exchange(s.port, raw, source="127.0.0.2")) == 403
    finally:
        s.stop()


def test_without_broker_credentials_the_sidecar_is_not_ready_and_forwards_nothing(rein_bin, moto):
    # The broker's only source (IMDSv2) is unreachable: every refresh fails.
    import subprocess
    import tempfile
    from pathlib import Path
    from sidecar_harness import clean_env, free_port, wait_http
    d = Path(tempfile.mkdtemp(prefix="rein-nobroker-"))
    (d / "policy.yaml").write_text(POLICY)
    port, admin, cred = free_port(), free_port(), free_port()
    (d / "c.yaml").write_text(f"""
listen: 127.0.0.1:{port}
admin_listen: 127.0.0.1:{admin}
credentials_listen: 127.0.0.1:{cred}
state_dir: {d / 'state'}
policy_file: {d / 'policy.yaml'}
upstream: {{endpoint: {moto.url}}}
broker: {{provider: imds, imds_endpoint: 'http://127.0.0.1:9'}}
""")
    proc = subprocess.Popen([rein_bin, "sidecar", "--config", str(d / "c.yaml")], env=clean_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{admin}/healthz")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz")
        assert e.value.code == 503 and b"broker" in e.value.read()
        token = (d / "state" / "agent-token").read_text().strip()
        import json
        creds = json.loads(urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{cred}/v1/credentials", headers={"Authorization": token})).read())
        import boto3
        import botocore
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{port}",
                          aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                          aws_session_token=creds["Token"], config=botocore.config.Config(retries={"max_attempts": 1}))
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.put_object(Bucket="hard", Key="while-not-ready", Body=b"x")
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        keys = [o["Key"] for o in moto.client("s3").list_objects_v2(Bucket="hard").get("Contents", [])]
        assert "while-not-ready" not in keys
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_passthrough_hosts_are_tunnelled_blind_and_audited(rein_bin, moto):
    import threading
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]

    def echo():
        conn, _ = server.accept()
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    break
                conn.sendall(data.upper())

    threading.Thread(target=echo, daemon=True).start()
    s = Sidecar(rein_bin, moto.url, POLICY, extra_config="proxy:\n  passthrough: [127.0.0.1]")
    try:
        c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        c.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += c.recv(1024)
        assert status_of(head) == 200
        c.sendall(b"not inspected")
        got = b""
        while len(got) < len(b"not inspected"):
            got += c.recv(1024)
        assert got == b"NOT INSPECTED"
        c.close()
        records = [r for r in s.wait_audit(1) if r["via"] == "tunnel"]
        assert records and records[-1]["decision"] == "allow" and records[-1]["upstream_host"] == f"127.0.0.1:{port}"
        assert "not inspected" in records[-1]["reason"]
    finally:
        s.stop()
        server.close()


def test_sigterm_drains_requests_in_flight(rein_bin):
    """A call in flight when SIGTERM arrives completes, and is audited, before the sidecar exits."""
    import http.server
    import signal
    import threading
    import boto3
    from botocore.config import Config

    class Slow(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            time.sleep(1.5)
            body = b"<ListBucketResult><Name>hard</Name></ListBucketResult>"
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-amz-request-id", "SLOWREQUEST")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    s = Sidecar(rein_bin, f"http://127.0.0.1:{upstream.server_address[1]}", POLICY)
    try:
        creds = s.credentials()
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=s.url, aws_access_key_id=creds["AccessKeyId"],
                          aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["Token"],
                          config=Config(retries={"max_attempts": 1}))
        result = {}
        t = threading.Thread(target=lambda: result.update(r=s3.list_objects_v2(Bucket="hard")))
        t.start()
        time.sleep(0.5)
        s.proc.send_signal(signal.SIGTERM)
        t.join(timeout=10)
        assert result["r"]["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert s.proc.wait(timeout=15) == 0
        records = s.audit()
        assert records[-1]["aws_request_id"] == "SLOWREQUEST" and records[-1]["upstream_status"] == 200
    finally:
        s.stop()
        upstream.shutdown()


def test_ca_export_prints_the_sidecar_ca_and_keeps_its_key_private(rein_bin, sidecar, tmp_path):
    import os
    import stat
    import subprocess
    state = sidecar.dir / "state"
    out = subprocess.run([rein_bin, "ca", "export", "--state-dir", str(state)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (state / "ca" / "ca.pem").read_text().strip()
    assert out.stdout.startswith("-----BEGIN CERTIFICATE-----")
    assert stat.S_IMODE(os.stat(state / "ca" / "ca.key").st_mode) == 0o600
    # A fresh state directory gets a new CA, as the sidecar's first start would.
    fresh = subprocess.run([rein_bin, "ca", "export", "--state-dir", str(tmp_path / "s")], capture_output=True, text=True)
    assert fresh.returncode == 0 and fresh.stdout != out.stdout


def test_plain_http_absolute_form_proxy_request_is_verified_and_forwarded(sidecar, moto):
    """An agent using the sidecar as a plain-http proxy: GET http://host/path."""
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    moto.client("s3").put_object(Bucket="hard", Key="plain.txt", Body=b"via plain proxy", ContentType="text/plain")
    creds = sidecar.credentials()
    host = "hard.s3.us-east-1.amazonaws.com"
    req = botocore.awsrequest.AWSRequest(method="GET", url=f"http://{host}/plain.txt")
    botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["Token"]),
                              "s3", "us-east-1").add_auth(req)
    head = f"GET http://{host}/plain.txt HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in req.headers.items() if k.lower() != "host") + "\r\n"
    response = exchange(sidecar.port, head.encode())
    assert status_of(response) == 200, response[:400]
    assert response.endswith(b"via plain proxy")
    record = [r for r in sidecar.wait_audit(1) if r.get("operation") == "GetObject"][-1]
    assert record["via"] == "proxy" and record["decision"] == "allow"
    assert record["grants"][0]["resources"] == ["arn:aws:s3:::hard/plain.txt"]


def test_static_agent_keys_are_flagged(rein_bin, moto):
    s = Sidecar(rein_bin, moto.url, POLICY, extra_config=(
        "agent_credentials:\n  static:\n    - {access_key_id: AKIDSTATICTESTKEY000, secret_access_key: test-only-secret}"))
    try:
        assert "rein_static_agent_keys_enabled 1" in s.metrics()
        assert "static agent keys are configured: for tests only" in s.log_text()
        assert "test-only-secret" not in s.log_text()
    finally:
        s.stop()


def test_an_unwritable_env_file_stops_the_sidecar_with_a_clear_error(rein_bin, moto):
    sc = Sidecar(rein_bin, moto.url, POLICY)
    sc.stop()
    missing = sc.dir / "no-such-dir" / "agent.env"
    result = subprocess.run([rein_bin, "sidecar", "--config", str(sc.dir / "sidecar.yaml"), "--env-file", str(missing)],
                            capture_output=True, text=True, timeout=60, env=sc.env)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("rein: cannot write the agent's environment to") and str(missing) in last, result.stderr
    assert "Usage:" not in result.stderr


def test_configuration_errors_name_the_key_and_exit_78_without_usage_text(rein_bin, tmp_path):
    # The sidecar and the collector: a misspelt key is a configuration error
    # (EX_CONFIG), said once, not a command-line error with usage text.
    for command, text in [("sidecar", "listen: 127.0.0.1:0\nlisten_agent: x\n"),
                          ("collector", "listen: 127.0.0.1:0\nretension: 30d\n")]:
        config = tmp_path / f"{command}.yaml"
        config.write_text(text)
        result = subprocess.run([rein_bin, command, "--config", str(config)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 78, (command, result.returncode, result.stderr)
        assert result.stderr.startswith("rein: configuration: ") and "unknown key" in result.stderr, result.stderr
        assert "Usage:" not in result.stderr, result.stderr
