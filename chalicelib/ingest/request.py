"""The webhook request as it arrived, and the URL it was sent to (pure).

The URL matters to one scheme only: ``hubspot-v3`` signs the full URL the provider
called. Behind API Gateway that is the custom domain or the stage URL, which the
request itself may not show; ``verify.url`` names it, else it is rebuilt from
``X-Forwarded-Proto`` (else ``http``), ``Host`` and the path and query as received.
"""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.ingest.schemes import rebuilt_url
from chalicelib.mapping.document import VerifyConfig
from chalicelib.values import frozen


@frozen
class WebhookRequest:
    """A webhook as it arrived: the source from the URL, headers, the raw body bytes.

    ``path`` is the path as received (``/webhooks/{source}`` when unknown) and
    ``query`` the query string without its ``?``.
    """

    source: str
    headers: Mapping[str, str]
    raw_body: bytes
    method: str = "POST"
    path: str = ""
    query: str = ""

    @property
    def lower_headers(self) -> dict[str, str]:
        """Headers by lower-cased name."""
        return {name.lower(): value for name, value in self.headers.items()}

    def url(self, config: VerifyConfig) -> str:
        """The URL the provider called, as its signature covers it."""
        if config.url:
            if "?" in config.url or not self.query:
                return config.url
            return f"{config.url}?{self.query}"
        path = self.path or f"/webhooks/{self.source}"
        return rebuilt_url(self.lower_headers, path, self.query)
