"""Real servers that a test starts and stops itself: a Redis (opsconsole.embedded's), and a
webhook receiver standing in for a subscriber — the one boundary the suite mocks, with a real
HTTP server."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opsconsole.embedded import RedisServer, free_port

__all__ = ["RedisServer", "WebhookReceiver", "free_port"]


class WebhookReceiver:
    """Records every POST; answers with the next status in `statuses` (then 200). Clear `hold`
    to keep requests waiting for their answer (a subscriber that is slow, or a sender that dies
    before it hears back) until it is set again."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        self.hold = threading.Event()
        self.hold.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.hold.wait(timeout=30)
                try:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass  # the sender is gone

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def event_ids(self) -> list[str]:
        return [json.loads(request["body"])["id"] for request in self.requests]

    def __enter__(self) -> "WebhookReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
