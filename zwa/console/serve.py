"""``zwa console``: serve the console on 127.0.0.1 and print its URL with the token (I/O).

The server binds to the loopback interface only, whatever the machine's other
interfaces; there is no option to change that. Its request log names the
method, the path and the status, never the query (where the token travels on
the first visit).
"""

from __future__ import annotations

import errno
import secrets
import socket
import sys
from collections.abc import Callable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from zwa.console.services import ConsoleServices
from zwa.console.wsgi import Console

HOST = "127.0.0.1"
DEFAULT_PORT = 8787


class _QuietRequestHandler(WSGIRequestHandler):
    """Logs ``GET /deliveries 200``: no query string, so no token, on the terminal."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0]
        print(f"{self.command} {path} {code}", file=sys.stderr, flush=True)

    def log_error(self, format: str, *args: Any) -> None:
        # The base class would quote the raw request line, token and all.
        print("zwa console: a request could not be read", file=sys.stderr, flush=True)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def console_server(services: ConsoleServices, port: int) -> tuple[BaseWSGIServer, str]:
    """A server for the console on ``127.0.0.1:port`` and the URL to open (with the token)."""
    if not 1 <= port <= 65535:
        raise ValueError(f"--port must be from 1 to 65535, not {port}")
    token = secrets.token_urlsafe(32)
    console = Console(services, access_token=token, port=port)
    try:
        # Bound here rather than by werkzeug, which would exit with its own words.
        listening = socket.create_server((HOST, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise OSError(f"port {port} of {HOST} is in use; pick another with --port") from exc
        raise
    server = make_server(HOST, port, console, threaded=True,
                         request_handler=_QuietRequestHandler, fd=listening.fileno())
    listening.close()  # the server holds its own duplicate of the socket
    return server, f"http://{HOST}:{port}/?token={token}"


def _say(line: str) -> None:
    print(line, flush=True)


def serve_console(services: ConsoleServices, port: int = DEFAULT_PORT,
                  say: Callable[[str], None] = _say) -> None:
    """Serve until interrupted; prints the URL first."""
    server, url = console_server(services, port)
    say(f"zwa console for stage {services.stage}: open {url}")
    say("Only this machine can reach it; Ctrl-C stops it.")
    try:
        server.serve_forever()  # returns on Ctrl-C: werkzeug's server catches it
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    say("zwa console stopped")
