"""A local webhook receiver for the hold notifications and integrity alerts."""

import http.server
import json
import threading
import time

from sidecar_harness import free_port


class Webhook:
    """Records every POST as (time, JSON body); `status` and `delay` make it fail or hang."""

    def __init__(self, status=200, delay=0.0):
        self.posts = []
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hook.posts.append((time.time(), json.loads(body)))
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
