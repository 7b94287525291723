"""A collector whose answers a test scripts per route, for the sidecar's
side of the channel: what it does when the answers are wrong (a proxy or
cache in front of the collector, a buggy or impostor collector).

`routes` maps a route name (register, heartbeat, batch, policy, other) to
a function (handler, request) that writes the whole answer, or leaves the
well-behaved default. Loopback only; stopped by `stop()`.
"""
import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeCollector:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.stored = {}
        self.routes = {}
        self.policy = None  # (version, text)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self)

            do_POST = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def send(h, status, body=b"", ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        h.send_response(status)
        if ctype:
            h.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def count(self, route):
        with self.lock:
            return sum(1 for r in self.requests if r["route"] == route)

    def _handle(self, h):
        u = urlparse(h.path)
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else b""
        if h.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        route = {"/v1/sidecars/register": "register", "/v1/sidecars/heartbeat": "heartbeat",
                 "/v1/audit/batches": "batch"}.get(u.path, "policy" if u.path.startswith("/v1/policies/") else "other")
        request = {"t": time.monotonic(), "route": route, "query": parse_qs(u.query), "headers": dict(h.headers), "body": body}
        with self.lock:
            self.requests.append(request)
        try:
            (self.routes.get(route) or getattr(self, "default_" + route))(h, request)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def default_register(self, h, request):
        self.send(h, 200, {"sidecar_id": json.loads(request["body"])["sidecar_id"], "key_status": "registered"})

    def default_heartbeat(self, h, request):
        self.send(h, 200, {"sidecar_id": json.loads(request["body"])["sidecar_id"]})

    def receipt(self, request):
        """The real collector's answer: every record stored, through the highest sequence."""
        accepted = duplicates = checkpoints = through = 0
        for line in request["body"].splitlines():
            o = json.loads(line)
            if o.get("schema") == "rein.checkpoint/v1":
                checkpoints += 1
                continue
            through = max(through, o["sequence"])
            with self.lock:
                duplicates += o["record_id"] in self.stored
                accepted += o["record_id"] not in self.stored
                self.stored[o["record_id"]] = o
        return {"sidecar_id": request["headers"].get("X-Rein-Sidecar-Id"), "accepted": accepted, "duplicates": duplicates,
                "checkpoints": checkpoints, "findings": 0, "through_sequence": through}

    def default_batch(self, h, request):
        self.send(h, 200, self.receipt(request))

    def default_policy(self, h, request):
        wait = int(request["query"].get("wait", ["0"])[0])
        if self.policy is None:
            time.sleep(min(wait, 2))
            return self.send(h, 404, {"code": "NoSuchPolicy", "message": "no policy"})
        version, text = self.policy
        if request["headers"].get("If-None-Match") == f'"{version}"':
            time.sleep(min(wait, 2))
            return self.send(h, 304, b"", ctype=None, headers={"ETag": f'"{version}"'})
        self.send(h, 200, text, ctype="application/yaml", headers={"ETag": f'"{version}"', "X-Rein-Policy-Version": version})

    def default_other(self, h, request):
        self.send(h, 404, {"code": "NotFound", "message": "not in this fake"})
