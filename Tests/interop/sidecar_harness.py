"""Starts moto_server and `rein sidecar` on loopback for the interop tests.

Everything listens on 127.0.0.1 with ports picked here; every process is
stopped by PID when its fixture ends.
"""

import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_ENVIRON_LOCK = threading.Lock()

# Credentials the broker hands to moto (which checks no signatures).
BROKER_KEY = "AKIAIOSFODNN7EXAMPLE"
BROKER_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ACCOUNT = "123456789012"  # moto's default account


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=30.0, expect=(200,), context=None, process=None):
    """Waits for `url` to answer; gives up at once when `process` has exited."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process exited with status {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as r:
                if r.status in expect:
                    return
        except urllib.error.HTTPError as e:
            if e.code in expect:
                return
            last = e
        except Exception as e:  # noqa: BLE001 - still starting
            last = e
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout}s: {last}")


def wait_for(predicate, timeout=20.0, what="condition"):
    """The first truthy value of `predicate`, polled every 0.1 s; fails after `timeout`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def clean_env():
    """The environment without any AWS/proxy settings the machine presets."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k.lower() not in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")
           and k not in ("CURL_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")}
    return env


class Moto:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="moto-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=clean_env())
        wait_http(self.url + "/moto-api/")

    def reset(self):
        urllib.request.urlopen(urllib.request.Request(self.url + "/moto-api/reset", method="POST"), timeout=5).read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def client(self, service, region="us-east-1"):
        """A boto3 client straight to moto, to inspect its state."""
        import boto3
        return boto3.client(service, region_name=region, endpoint_url=self.url,
                            aws_access_key_id=BROKER_KEY, aws_secret_access_key=BROKER_SECRET)


class Sidecar:
    """A running `rein sidecar` with its own state directory."""

    def __init__(self, rein_bin, upstream, policy_text, mode="enforce", extra_config="", extra_env=None, audit_config="",
                 sidecar_id=None, fsync=False, ready=True, broker=None):
        self.rein_bin = rein_bin
        # What runs the process (e.g. nsenter into a mount namespace); a subclass may set it first.
        self.command_prefix = getattr(self, "command_prefix", [])
        self.dir = Path(tempfile.mkdtemp(prefix="rein-sidecar-"))
        if policy_text is not None:  # None: no policy_file (the collector's policy only)
            (self.dir / "policy.yaml").write_text(policy_text)
        self.env = clean_env()
        self.env["REIN_TEST_BROKER_ACCESS_KEY_ID"] = BROKER_KEY
        self.env["REIN_TEST_BROKER_SECRET_ACCESS_KEY"] = BROKER_SECRET
        self.env.update(extra_env or {})
        # The broker block; default: static keys from the environment.
        self.broker = broker or "broker:\n  provider: static\n  env_prefix: REIN_TEST_BROKER_\n"
        self.log_path = self.dir / "sidecar.log"
        # A port free_port() found may be taken again before the sidecar binds it
        # (another process's bind to port 0, an outgoing connection): new ports, again.
        for attempt in range(3):
            self.port, self.admin_port, self.creds_port = free_port(), free_port(), free_port()
            self._write_config(upstream, mode, sidecar_id, policy_text, fsync, audit_config, extra_config)
            try:
                self.start(ready=ready)
                break
            except RuntimeError:
                if attempt == 2 or "Address already in use" not in self.log_text():
                    raise
        self.url = f"http://127.0.0.1:{self.port}"
        self.token_file = str(self.dir / "state" / "agent-token")
        self.ca_file = str(self.dir / "state" / "ca" / "ca.pem")
        self.audit_path = self.dir / "state" / "audit.jsonl"

    def _write_config(self, upstream, mode, sidecar_id, policy_text, fsync, audit_config, extra_config):
        policy_line = f"policy_file: {self.dir / 'policy.yaml'}" if policy_text is not None else ""
        id_line = f"sidecar_id: {sidecar_id}" if sidecar_id else ""
        config = f"""
{id_line}
listen: 127.0.0.1:{self.port}
admin_listen: 127.0.0.1:{self.admin_port}
credentials_listen: 127.0.0.1:{self.creds_port}
state_dir: {self.dir / 'state'}
{policy_line}
mode: {mode}
account_id: "{ACCOUNT}"
upstream:
  endpoint: {upstream}
{self.broker}
audit:
  fsync: {"true" if fsync else "false"}
{audit_config}
{extra_config}
"""
        (self.dir / "sidecar.yaml").write_text(config)

    def start(self, ready=True):
        """Starts (or restarts) the process on the same state directory."""
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command_prefix + [self.rein_bin, "sidecar", "--config", str(self.dir / "sidecar.yaml"),
                                      "--env-file", str(self.dir / "agent.env")],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        try:
            wait_http(f"http://127.0.0.1:{self.admin_port}/readyz", timeout=60, expect=(200,) if ready else (200, 503),
                      process=self.proc)
        except Exception:
            self.stop()
            raise RuntimeError("sidecar did not become ready:\n" + self.log_text())

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.log.close()

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def agent_env(self, proxy=False):
        """What an agent container sets: credentials endpoint, plus endpoint or proxy mode."""
        env = clean_env()
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = f"http://127.0.0.1:{self.creds_port}/v1/credentials"
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = self.token_file
        env["AWS_DEFAULT_REGION"] = "us-east-1"
        env["AWS_REGION"] = "us-east-1"
        if proxy:
            env["HTTPS_PROXY"] = self.url
            env["AWS_CA_BUNDLE"] = self.ca_file
        else:
            env["AWS_ENDPOINT_URL"] = self.url
        return env

    def agent_session(self, proxy=False):
        """A boto3 session configured only through the environment an agent
        gets; its credentials are fetched now, while that environment is set."""
        import boto3
        # os.environ is process-wide: threads making sessions at once would
        # save each other's half-swapped environment and lose PATH for good.
        with _ENVIRON_LOCK:
            saved = dict(os.environ)
            os.environ.clear()
            os.environ.update(self.agent_env(proxy=proxy))
            try:
                session = boto3.session.Session()
                session.get_credentials().get_frozen_credentials()
                return session
            finally:
                os.environ.clear()
                os.environ.update(saved)

    def credentials(self):
        """The agent session credentials, fetched as an SDK would."""
        token = Path(self.token_file).read_text().strip()
        req = urllib.request.Request(f"http://127.0.0.1:{self.creds_port}/v1/credentials",
                                     headers={"Authorization": token})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def audit(self):
        # The readable copy moves to audit.jsonl.1 past audit.jsonl_max_bytes: the older records are there.
        rotated = self.audit_path.with_name(self.audit_path.name + ".1")
        text = "".join(p.read_text() for p in (rotated, self.audit_path) if p.exists())
        # A line still being appended has no newline yet: it is not a record yet.
        complete = text[: text.rfind("\n") + 1]
        return [json.loads(line) for line in complete.splitlines() if line.strip()]

    def wait_audit(self, count, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            records = self.audit()
            if len(records) >= count:
                return records
            time.sleep(0.05)
        return self.audit()

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=5) as r:
            return r.read().decode()
