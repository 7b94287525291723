"""Starts `rein collector` on loopback for the audit interop tests, and
scripts a sidecar's side of the ingest API where a test needs exact control
(a 100k-record stream, deliberate tampering).

Everything listens on 127.0.0.1; every process is stopped by PID.
"""

import gzip
import hashlib
import json
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from sidecar_harness import free_port, wait_http, clean_env

GENESIS = "0" * 64

# Tokens by role; the collector's configuration holds only their SHA-256.
TOKENS = {
    "sidecar": "tok-sidecar-0123456789abcdef",
    "sidecar-other": "tok-sidecar-other-0123456789",
    "sidecar-web": "tok-sidecar-web-0123456789ab",
    "admin": "tok-admin-0123456789abcdef",
    "auditor": "tok-auditor-0123456789abcdef",
    "approver": "tok-approver-0123456789abcdef",
    "metrics": "tok-metrics-0123456789abcdef",
}


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


class Collector:
    """A running `rein collector` with its own state directory."""

    def __init__(self, rein_bin, agents=("agent-a",), extra_config="", tls=None, extra_env=None):
        self.rein_bin = rein_bin
        # What runs the process (e.g. nsenter into a mount namespace); a subclass may set it first.
        self.command_prefix = getattr(self, "command_prefix", [])
        self.env = clean_env()
        self.env.update(extra_env or {})
        self.dir = Path(tempfile.mkdtemp(prefix="rein-collector-"))
        self.port = free_port()
        self.tls = tls  # (certificate file, key file, CA file) or None
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        tls_config = f"tls:\n  certificate: {tls[0]}\n  key: {tls[1]}\n" if tls else ""
        agent_list = ", ".join(agents)
        self.config_path = self.dir / "collector.yaml"
        self.config_path.write_text(f"""
listen: 127.0.0.1:{self.port}
state_dir: {self.dir / 'state'}
{tls_config}
fleet:
  silent_after: 3s
tokens:
  - name: sidecar-a
    roles: [sidecar]
    sha256: {sha256_hex(TOKENS['sidecar'])}
    agents: [{agent_list}]
  - name: sidecar-other
    roles: [sidecar]
    sha256: {sha256_hex(TOKENS['sidecar-other'])}
    agents: [agent-other]
  - name: sidecar-web
    roles: [sidecar]
    sha256: {sha256_hex(TOKENS['sidecar-web'])}
    agents: [{agent_list}]
    sidecar_ids: ["web-*"]
  - name: alice
    roles: [admin]
    sha256: {sha256_hex(TOKENS['admin'])}
  - name: carol
    roles: [auditor]
    sha256: {sha256_hex(TOKENS['auditor'])}
  - name: bob
    roles: [approver]
    sha256: {sha256_hex(TOKENS['approver'])}
  - name: prometheus
    roles: [metrics]
    sha256: {sha256_hex(TOKENS['metrics'])}
{extra_config}
""")
        for role, token in TOKENS.items():
            p = self.dir / f"{role}.token"
            p.write_text(token + "\n")
            p.chmod(0o600)
        self.proc = None
        # A port free_port() found may be taken again before the collector binds it: new port, again.
        for attempt in range(3):
            try:
                self.start()
                break
            except RuntimeError:
                if attempt == 2 or "Address already in use" not in self.log_text():
                    raise
                old = f"listen: 127.0.0.1:{self.port}"
                self.port = free_port()
                self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
                self.config_path.write_text(self.config_path.read_text().replace(old, f"listen: 127.0.0.1:{self.port}"))

    def token_file(self, role):
        return str(self.dir / f"{role}.token")

    def start(self):
        self.log_path = self.dir / "collector.log"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command_prefix + [self.rein_bin, "collector", "run", "--config", str(self.config_path)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        try:
            wait_http(self.url + "/healthz", timeout=60, context=self.ssl_context(), process=self.proc)
        except Exception:
            self.stop()
            raise RuntimeError("collector did not start:\n" + self.log_text())

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def ssl_context(self):
        if not self.tls:
            return None
        import ssl
        return ssl.create_default_context(cafile=self.tls[2])

    def call(self, method, path, role="auditor", body=None, headers=None, raw=None, timeout=60):
        """(status, headers, body bytes) of one API call with `role`'s token."""
        h = {"Authorization": f"Bearer {TOKENS[role]}"} if role else {}
        h.update(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self.ssl_context()) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, method, path, role="auditor", body=None):
        status, _, data = self.call(method, path, role=role, body=body)
        assert status == 200, f"{method} {path}: {status} {data[:500]!r}"
        return json.loads(data)

    def records(self, **query):
        """Every stored record matching `query`, following cursors."""
        out, cursor = [], None
        while True:
            q = dict(query, limit="10000")
            if cursor:
                q["after"] = cursor
            qs = "&".join(f"{k}={urllib.parse.quote(str(v))}" for k, v in q.items())
            status, headers, data = self.call("GET", "/v1/audit/records?" + qs)
            assert status == 200, f"records: {status} {data[:300]!r}"
            lines = [l for l in data.decode().splitlines() if l.strip()]
            if not lines:
                return out
            out += [json.loads(l) for l in lines]
            nxt = headers.get("X-Rein-Next-Cursor") or headers.get("x-rein-next-cursor")
            if not nxt or nxt == cursor:
                return out
            cursor = nxt

    def findings(self, sidecar=None):
        path = "/v1/audit/findings" + (f"?sidecar={sidecar}" if sidecar else "")
        return self.json("GET", path)


class ScriptedChain:
    """A sidecar's chain, built in Python the way docs/audit-schema.md says."""

    def __init__(self, sidecar_id, agent_id="agent-a"):
        self.sidecar_id = sidecar_id
        self.agent_id = agent_id
        self.sequence = 0
        self.head = GENESIS

    def seal(self, **fields):
        self.sequence += 1
        record = {"schema": "rein.audit/v1", "record_id": str(uuid.uuid4()), "event": "call",
                  "time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "sidecar_id": self.sidecar_id,
                  "agent_id": self.agent_id, "task_id": "task-1", "via": "endpoint", "decision": "allow",
                  "service": "s3", "region": "us-east-1", "operation": "GetObject", "forwarded": True,
                  "grants": [{"action": "s3:GetObject", "resources": [f"arn:aws:s3:::bucket/k{self.sequence}"]}],
                  "bytes_in": 0, "bytes_out": 10, "latency": {}, "sequence": self.sequence, "prev_hash": self.head}
        record.update(fields)
        body = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
        digest = hashlib.sha256(body.encode()).hexdigest()
        self.head = digest
        return (body[:-2] + f',"hash":"{digest}"}}\n').encode()


def ship(collector, sidecar_id, lines, role="sidecar"):
    """POSTs one gzip batch; returns (status, parsed body)."""
    status, _, body = ship_call(collector, sidecar_id, lines, role=role)
    return status, body


def ship_call(collector, sidecar_id, lines, role="sidecar"):
    """POSTs one gzip batch; returns (status, headers, parsed body)."""
    status, headers, data = collector.call("POST", "/v1/audit/batches", role=role, raw=gzip.compress(b"".join(lines)),
                                           headers={"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip",
                                                    "X-Rein-Sidecar-Id": sidecar_id})
    try:
        return status, headers, json.loads(data)
    except ValueError:
        return status, headers, data
