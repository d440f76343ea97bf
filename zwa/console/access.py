"""Who may use the console: the access token, its cookie, the CSRF token, the Host (pure).

The printed URL holds a random access token (as Jupyter's does). The first
visit with ``?token=`` turns it into an HttpOnly, SameSite=Strict cookie, so
links need not carry it. Forms carry a CSRF token derived from the access
token, checked on every POST. Only requests addressed to 127.0.0.1 or
localhost on the console's port are answered, which turns away pages that
rebind their own name to 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlencode

TOKEN_PARAM = "token"  # noqa: S105 (a query parameter's name)
CSRF_FIELD = "csrf"
_CSRF_CONTEXT = b"zwa-console-csrf-v1"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def cookie_name(port: int) -> str:
    """The access cookie's name; cookies ignore ports, so two consoles keep theirs apart."""
    return f"zwa_console_{port}"


def same_secret(given: str | None, expected: str) -> bool:
    """Whether ``given`` is ``expected``, compared in constant time."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())


def csrf_token(access_token: str) -> str:
    """The token every form of this console carries; it changes with the access token."""
    return hmac.new(access_token.encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()


def allowed_host(host: str | None, port: int) -> bool:
    """Whether a request's Host header names this console on the loopback interface."""
    return host in {f"{name}:{port}" for name in LOOPBACK_NAMES}


def allowed_origin(origin: str | None, port: int) -> bool:
    """Whether a POST's Origin (when the browser sent one) is this console."""
    if origin is None:
        return True
    return origin in {f"http://{name}:{port}" for name in LOOPBACK_NAMES}


def query_without_token(pairs: Iterable[tuple[str, str]]) -> str:
    """The query string less the access token: where the first visit is sent on to."""
    kept = [(key, value) for key, value in pairs if key != TOKEN_PARAM]
    return urlencode(kept)
