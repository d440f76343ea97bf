"""``/deliveries?source=&status=&since=&page=``: the ledger, newest first, a page at a time."""

from __future__ import annotations

from urllib.parse import urlencode

from werkzeug.exceptions import BadRequest
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from zwa.console.page import Page
from zwa.inputs import parse_time
from zwa.queries import STATUSES, list_deliveries

PAGE_SIZE = 50
MAX_PAGE = 1000


def show_deliveries(page: Page) -> Response:
    args = page.request.args
    source = args.get("source", "").strip()
    status = args.get("status", "").strip()
    since_text = args.get("since", "").strip()
    if status and status not in STATUSES:
        raise BadRequest(f"status {status!r} is not a ledger status; "
                         f"use one of {', '.join(STATUSES)}")
    try:
        since = parse_time(since_text, page.now()) if since_text else None
    except ValueError as exc:
        raise BadRequest(f"since: {exc}") from exc
    number = _page_number(args.get("page", "1"))
    services = page.services
    listed = list_deliveries(services.mappings, services.ledger, source=source or None,
                             status=status or None, since=since, limit=PAGE_SIZE,
                             offset=(number - 1) * PAGE_SIZE)
    filters = {"source": source, "status": status, "since": since_text}

    def link(to: int) -> str:
        kept = {key: value for key, value in filters.items() if value}
        return "/deliveries?" + urlencode({**kept, "page": to})

    return page.render(
        "deliveries.html", title="Deliveries", items=listed.items, filters=filters,
        sources=[stored.source for stored in services.mappings.sources()],
        page_number=number, first_index=(number - 1) * PAGE_SIZE + 1,
        newer=link(number - 1) if number > 1 else None,
        older=link(number + 1) if listed.more else None)


def _page_number(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_PAGE:
        raise BadRequest(f"page must be a whole number from 1 to {MAX_PAGE}")
    return number


ROUTES = [Rule("/deliveries", endpoint=show_deliveries, methods=["GET"])]
