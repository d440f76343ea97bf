"""The HTTP session the worker speaks to Zoho with: keep-alive, thread-safe, over urllib3 (I/O).

The Zoho client and the token provider need three calls (``get`` with query
parameters, ``put`` with a JSON body, ``post`` with a form) and three things of
an answer (``status_code``, ``content``, ``json()``): the shape of a
``requests.Session``, which the CLI and the tests still hand them. The worker
hands them this one instead: urllib3 is already loaded by botocore, where
``requests`` would add about a fifth of a bare ``import boto3`` to every worker
cold start (``benchmarks/coldstart.py``). One pool per host, as many
connections kept as messages are handled at once; no retries and no redirects
(the worker's own retries decide).

``is_timeout`` and ``is_transport_error`` tell the failures of either session
apart without importing ``requests``: a ``requests`` exception can only exist
once ``requests`` is loaded.
"""

from __future__ import annotations

import json as jsonlib
import sys
from typing import Any, Protocol
from urllib.parse import urlencode

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout


class HttpResponse(Protocol):
    """What the Zoho calls read of an answer."""

    @property
    def status_code(self) -> int: ...

    @property
    def content(self) -> bytes: ...

    def json(self) -> Any: ...


class HttpSession(Protocol):
    """The three calls the Zoho client and the token provider make."""

    def get(self, url: str, *, params: dict[str, str] | None = None,
            headers: dict[str, str] | None = None, timeout: float | None = None) -> Any: ...

    def put(self, url: str, *, json: Any = None, headers: dict[str, str] | None = None,
            timeout: float | None = None) -> Any: ...

    def post(self, url: str, *, data: dict[str, str] | None = None,
             timeout: float | None = None) -> Any: ...


class Answer:
    """One HTTP answer, read whole."""

    def __init__(self, status: int, content: bytes) -> None:
        self.status_code = status
        self.content = content

    def json(self) -> Any:
        """The body as JSON; ``ValueError`` when it is not."""
        return jsonlib.loads(self.content)


class Urllib3Session:
    """``HttpSession`` over one urllib3 pool manager (thread-safe), keeping connections alive."""

    def __init__(self, connections: int = 10) -> None:
        self._pool = urllib3.PoolManager(num_pools=4, maxsize=max(1, connections), block=False,
                                         retries=False)

    def get(self, url: str, *, params: dict[str, str] | None = None,
            headers: dict[str, str] | None = None, timeout: float | None = None) -> Answer:
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        return self._request("GET", url, None, headers or {}, timeout)

    def put(self, url: str, *, json: Any = None, headers: dict[str, str] | None = None,
            timeout: float | None = None) -> Answer:
        body = jsonlib.dumps(json).encode("utf-8")
        return self._request("PUT", url, body,
                             {"Content-Type": "application/json", **(headers or {})}, timeout)

    def post(self, url: str, *, data: dict[str, str] | None = None,
             timeout: float | None = None) -> Answer:
        return self._request("POST", url, urlencode(data or {}).encode("ascii"),
                             {"Content-Type": "application/x-www-form-urlencoded"}, timeout)

    def _request(self, method: str, url: str, body: bytes | None, headers: dict[str, str],
                 timeout: float | None) -> Answer:
        answer = self._pool.request(
            method, url, body=body, headers={"Accept": "application/json", **headers},
            timeout=urllib3.Timeout(connect=timeout, read=timeout), redirect=False,
            preload_content=True)
        return Answer(answer.status, answer.data or b"")


def is_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` is a session's timeout (urllib3's or ``requests``')."""
    if isinstance(exc, Urllib3Timeout):
        # urllib3 makes a refused connection a kind of connect timeout; it is not one.
        return not isinstance(exc, NewConnectionError)
    requests = sys.modules.get("requests")
    return requests is not None and isinstance(exc, requests.Timeout)


def is_transport_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a session's failure to get an answer (no connection, a broken one)."""
    if isinstance(exc, Urllib3Error):
        return True
    requests = sys.modules.get("requests")
    return requests is not None and isinstance(exc, requests.RequestException)
