"""Command line: `python -m devstack.zoho_sandbox [--host H] [--port N] [options]`.

Prints `zoho sandbox listening on http://HOST:PORT` (flushed) once it accepts connections, so a
launcher can wait for that line; SIGTERM or SIGINT stop it cleanly with exit status 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from . import DEFAULT_PORT
from .config import SandboxConfig
from .server import SandboxServer


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.zoho_sandbox",
        description="A local Zoho CRM v8 sandbox (token endpoint, records, search, test controls).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to bind, 0 for any free one (default {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--token-lifetime",
        type=float,
        default=3600,
        metavar="SECONDS",
        help="access token lifetime (default 3600)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=10,
        metavar="N",
        help="CRM calls served at once before 429 (default 10)",
    )
    parser.add_argument(
        "--daily-credits",
        type=int,
        default=None,
        metavar="N",
        help="API credits before 429 (default: unlimited)",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0,
        metavar="MS",
        help="delay added to every API call (default 0)",
    )
    parser.add_argument(
        "--hang-seconds",
        type=float,
        default=30,
        metavar="SECONDS",
        help="how long an injected 'hang' fault waits (default 30)",
    )
    parser.add_argument(
        "--search-index-lag",
        type=float,
        default=0,
        metavar="SECONDS",
        help="search finds a new record only this long after it was created (default 0)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = SandboxConfig(
            token_lifetime=args.token_lifetime,
            concurrency=args.concurrency,
            daily_credits=args.daily_credits,
            latency_ms=args.latency_ms,
            hang_seconds=args.hang_seconds,
            search_index_lag_seconds=args.search_index_lag,
        )
    except ValueError as exc:
        print(f"zoho sandbox: {exc}", file=sys.stderr)
        return 2
    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    signal.signal(signal.SIGINT, lambda *_: stop_requested.set())
    try:
        server = SandboxServer(args.host, args.port, config).start()
    except OSError as exc:
        print(f"zoho sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"zoho sandbox listening on {server.url}", flush=True)
    while not stop_requested.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
