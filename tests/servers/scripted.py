"""An in-process HTTP server whose answers a test scripts byte by byte: NaN probabilities,
redirects, bodies dripped slowly or without end, hostile error pages.

    def answer(records, send):          # records: the request's rows; send(bytes) writes raw bytes
        send(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\n{}")

    with ScriptedServer(answer) as server:
        server.url("/predict")

Standard library only (http.server), one thread per connection, on 127.0.0.1 port 0. A script
that writes forever stops when the client hangs up (the write fails)."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

Script = Callable[[list, Callable[[bytes], None]], None]


def json_answer(document, status: str = "200 OK") -> bytes:
    """A complete HTTP/1.1 answer carrying `document` as JSON (NaN written as NaN, as Python does)."""
    body = json.dumps(document).encode() if not isinstance(document, bytes) else document
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body


class ScriptedServer:
    def __init__(self, script: Script):
        self.script = script
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's naming
                owner.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                records = payload.get("records", payload.get("dataframe_records", []))

                def send(data: bytes) -> None:
                    self.wfile.write(data)
                    self.wfile.flush()

                try:
                    owner.script(records, send)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass  # the client hung up: what a script writing without end waits for
                self.close_connection = True

            def log_message(self, *args):  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str = "/predict") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def __enter__(self) -> "ScriptedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def drip(data: bytes, send, pause: float) -> None:
    """Send `data` one byte at a time, `pause` seconds apart (each read gets a byte in time)."""
    for i in range(len(data)):
        send(data[i:i + 1])
        time.sleep(pause)


def endless(send, chunk: int = 1 << 16) -> None:
    """A 200 answer without a length whose body never ends."""
    send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
    block = b"[" * 16 + b"0," * ((chunk - 16) // 2)
    while True:
        send(block)
