"""The console as a WSGI application: access, routing, errors, security headers (no I/O).

Every request passes the same gate before any page runs: the Host must be this
console on the loopback interface; the access token must come in the query
(first visit: it becomes a cookie and the browser is sent on without it) or in
the cookie; a POST must carry the CSRF token and, when the browser says where
it comes from, come from this console. A refused request gets 403 and a page
that shows no data. The pages' answers carry a Content-Security-Policy that
lets only this response's own inline style and script run.
"""

from __future__ import annotations

import secrets
import sys
import traceback
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed
from werkzeug.routing import Map
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from chalicelib.errors import UnavailableError
from zwa.console.access import (
    CSRF_FIELD,
    TOKEN_PARAM,
    allowed_host,
    allowed_origin,
    cookie_name,
    csrf_token,
    query_without_token,
    same_secret,
)
from zwa.console.page import Page
from zwa.console.pages import NAV, PAGES
from zwa.console.render import console_environment
from zwa.console.services import ConsoleServices

NO_ACCESS = ("Open the console with the URL that zwa console printed in its terminal: it "
             "holds the access token. Nothing is shown without it.")


class Console:
    """The console of one stage, answering at ``127.0.0.1:{port}`` to holders of the token."""

    def __init__(self, services: ConsoleServices, *, access_token: str, port: int) -> None:
        self.services = services
        self.port = port
        self._token = access_token
        self._csrf = csrf_token(access_token)
        self._environment = console_environment()
        self._routes = Map([rule.empty() for page in PAGES for rule in page.ROUTES])

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        nonce = secrets.token_urlsafe(16)
        try:
            response = self.respond(request, nonce)
        except Exception as exc:  # noqa: BLE001 - the operator's terminal gets the type
            _report(exc, request.path)
            response = self._error_page(request, nonce, InternalServerError(
                "The console hit an error it did not expect; its type and place are in the "
                "terminal that runs zwa console."))
        _secure(response, nonce)
        return response(environ, start_response)

    def respond(self, request: Request, nonce: str) -> Response:
        """The answer to one request, after the access checks."""
        if not allowed_host(request.host, self.port):
            return self._refused(request, nonce, f"This console answers only at "
                                 f"http://127.0.0.1:{self.port}/.")
        given = request.args.get(TOKEN_PARAM)
        if given is not None:
            if not same_secret(given, self._token):
                return self._refused(request, nonce, "That access token is not this "
                                     "console's. " + NO_ACCESS)
            return self._admit(request)
        if not same_secret(request.cookies.get(cookie_name(self.port)), self._token):
            return self._refused(request, nonce, NO_ACCESS)
        if request.method == "POST" and not (
                allowed_origin(request.headers.get("Origin"), self.port)
                and same_secret(request.form.get(CSRF_FIELD), self._csrf)):
            return self._refused(request, nonce, "This form did not come from this console "
                                 "(its CSRF token is missing or wrong); nothing was changed. "
                                 "Reload the page and try again.")
        page = Page(request=request, services=self.services, environment=self._environment,
                    csrf=self._csrf, nonce=nonce, nav=NAV)
        try:
            view, arguments = self._routes.bind_to_environ(request.environ).match()
            response: Response = view(page, **arguments)
        except HTTPException as exc:
            return self._error_page(request, nonce, exc)
        except UnavailableError as exc:
            hint = " Is 'make dev' running?" if self.services.stage == "local" else ""
            return self._error_page(request, nonce, _Unavailable(f"{exc}.{hint}"))
        return response

    def _admit(self, request: Request) -> Response:
        """First visit: keep the token in a cookie and drop it from the address bar."""
        query = query_without_token(request.args.items(multi=True))
        response = redirect(request.path + (f"?{query}" if query else ""), code=303)
        response.set_cookie(cookie_name(self.port), self._token, httponly=True,
                            samesite="Strict", path="/")
        return response

    def _refused(self, request: Request, nonce: str, message: str) -> Response:
        return self._render_error(request, nonce, 403, "Forbidden", message, known=False)

    def _error_page(self, request: Request, nonce: str, error: HTTPException) -> Response:
        response = self._render_error(request, nonce, error.code or 500, error.name,
                                      error.description or "", known=True)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    def _render_error(self, request: Request, nonce: str, code: int, name: str, message: str,
                      *, known: bool) -> Response:
        """An error page; to a caller not ``known`` to hold the token it names nothing."""
        html = self._environment.get_template("error.html").render(
            stage=self.services.stage if known else "", csrf="", nonce=nonce,
            nav=NAV if known else (), path=request.path,
            webhooks_url="", title=f"{code} {name}", code=code, name=name, message=message)
        return Response(html, status=code, mimetype="text/html")


class _Unavailable(HTTPException):
    code = 503
    name = "AWS unavailable"


def _secure(response: Response, nonce: str) -> None:
    """Headers that keep the pages to themselves: no framing, no caching, no foreign code."""
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
        "img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    # same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on
    # the console's own POSTs, and the origin check could not tell them from a foreign page.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"


def _report(exc: Exception, path: str) -> None:
    """The error's type and where it was raised, never its message (it may quote data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = "; ".join(f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames)
    print(f"zwa console: {type(exc).__name__} on {path}: {where}", file=sys.stderr, flush=True)
