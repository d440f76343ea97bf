"""HTTP for the sandbox: a threading HTTP/1.1 server and `SandboxServer`, its Python API.

Does socket I/O and nothing else: each request is read into a `SandboxRequest`, handed to
`SandboxApp.handle`, and the `Response` written back in one write with an exact Content-Length
(keep-alive safe; Nagle is off so small answers are not held back). No access log is written:
request lines can carry OAuth parameters, and the request log (`/__sandbox/requests`) is masked.

    server = SandboxServer("127.0.0.1", port=0, concurrency=5).start()
    requests.post(f"{server.url}/oauth/v2/token", data={...})
    server.stop()
"""

from __future__ import annotations

import json
import socket
import socketserver
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .config import SandboxConfig
from .dispatch import SandboxApp, SandboxRequest
from .responses import Response

IDLE_CONNECTION_SECONDS = 120
MAX_BODY_BYTES = 16 * 1024 * 1024


class _SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ZohoSandbox/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = IDLE_CONNECTION_SECONDS
    server: _HttpServer
    _headers_buffer: list[bytes]  # BaseHTTPRequestHandler's, written by flush_headers

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silenced: an access log would print OAuth query parameters."""

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            self._write(
                Response(
                    413,
                    {
                        "code": "LIMIT_EXCEEDED",
                        "details": {},
                        "message": "request body too large",
                        "status": "error",
                    },
                )
            )
            self.close_connection = True
            return
        path, _, query_string = self.path.partition("?")
        request = SandboxRequest(self.command, path, query_string, self.headers, body)
        response = self.server.app.handle(request)
        if response.delay_seconds:
            self.server.app.stopping.wait(response.delay_seconds)
        if response.disconnect:
            self._drop()
            return
        self._write(response)

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _write(self, response: Response) -> None:
        if response.raw is not None:
            payload = response.raw
        elif response.body is None:
            payload = b""
        else:
            payload = json.dumps(response.body, separators=(",", ":")).encode()
        self.send_response_only(response.status, _phrase(response.status))
        self.send_header("Date", self.date_time_string())
        if response.status != 204:
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")
        if response.status != 204:
            self._headers_buffer.append(payload)
        self.flush_headers()  # headers and body leave in one write


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _SandboxHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall on DNS; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return  # the client went away or idled out: not the sandbox's fault
        self.app.log.count("sandbox_errors")
        super().handle_error(request, client_address)


class SandboxServer:
    """The Zoho sandbox, in-process: `start()` serves on a background thread until `stop()`.

    `SandboxServer(host="127.0.0.1", port=0, config=None, **settings)`: `settings` are fields of
    `SandboxConfig` (token_lifetime, concurrency, daily_credits, latency_ms, hang_seconds, ...).
    Port 0 picks a free port; `url` tells which after `start()`. Usable as a context manager.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        config: SandboxConfig | None = None,
        **settings: Any,
    ) -> None:
        self.host = host
        self.port = port
        self.config = (config or SandboxConfig()).updated(settings)
        self.app = SandboxApp(self.config)
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the sandbox is not started")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    def start(self) -> SandboxServer:
        self._httpd = _HttpServer((self.host, self.port), self.app)
        self.port = int(self._httpd.server_address[1])
        self.app.api_domain = self.url
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="zoho-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self.app.stopping.set()
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
