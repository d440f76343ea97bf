"""What a view gets for one request: the request, the services, and ``render`` (no I/O).

A view is ``view(page, **url_arguments) -> Response``. It reads its input from
``page.request``, asks ``page.services`` (through ``zwa.queries`` and the
stores), and returns ``page.render(template, ...)`` or a redirect. Bad input is
a ``werkzeug.exceptions.BadRequest`` or ``NotFound`` with a description a
person can act on; the application renders it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment
from werkzeug.wrappers import Request, Response

from zwa.console.services import ConsoleServices


@dataclass(frozen=True)
class Page:
    """One request to one view."""

    request: Request
    services: ConsoleServices
    environment: Environment
    csrf: str
    nonce: str
    nav: Sequence[tuple[str, str]]

    def now(self) -> float:
        return self.services.clock()

    def render(self, template: str, *, status: int = 200, **values: Any) -> Response:
        """The template rendered in the shared layout, as an HTML response."""
        html = self.environment.get_template(template).render(
            stage=self.services.stage, csrf=self.csrf, nonce=self.nonce, nav=self.nav,
            path=self.request.path, webhooks_url=self.services.webhooks_url, **values)
        return Response(html, status=status, mimetype="text/html")


View = Callable[..., Response]
