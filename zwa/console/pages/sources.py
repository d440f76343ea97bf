"""``/``: every source, its mapping version and its deliveries of the last 24 hours by status."""

from __future__ import annotations

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from zwa.console.page import Page
from zwa.queries import STATUSES, source_summaries


def show_sources(page: Page) -> Response:
    services = page.services
    summaries = source_summaries(services.mappings, services.ledger, now=page.now())
    seen = {status for summary in summaries for status in summary.counts}
    # The usual statuses always have a column; a rare one only when it occurred.
    columns = [status for status in STATUSES
               if status in {"queued", "applied", "failed", "dead"} or status in seen]
    return page.render("sources.html", title="Sources", summaries=summaries, columns=columns)


ROUTES = [Rule("/", endpoint=show_sources, methods=["GET"])]
