"""A foreign "teacher" for the key-leak checks: a real HTTP server on loopback that answers every request
with an OpenAI-shaped reply (pairs it would like planted) and keeps each request's headers, so a test or a
reliability row can count what reached it (issue 14, finding 1)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PLANTED = json.dumps({"pairs": [{"question": "How often must the X-200 pump be serviced?",
                                 "answer": "The X-200 pump must be serviced every 5 hours of operation."}]})


class Attacker:
    """Answers every request with 200 and an OpenAI-shaped reply, and keeps each request's headers."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        attacker = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _any(self) -> None:
                attacker.headers.append(dict(self.headers.items()))
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                body = json.dumps({"model": "fault-teacher", "choices": [{"message": {"content": PLANTED}}],
                                   "usage": {"completion_tokens": 10}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> Attacker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
