"""The delivery page's archived payload and its Replay action (no I/O of its own).

``archive_values`` gives the delivery page what it shows of the archive: the
payload (escaped by the template like any text: it is what a stranger sent),
when it expires, or why there is none, and the replay history. A POST to the
delivery's own URL replays it (``zwa.replay``, as ``zwa replay --delivery``
does), then shows the page again.
"""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from zwa.console.page import Page
from zwa.console.render import delivery_url, pretty_json
from zwa.replay import QUEUED, ReplaySelection, replay, why_not_archived

# Ledger keys this part of the page shows, so the page's "Other fields" leaves them out.
ARCHIVE_KEYS = ("archived_until", "replays", "replay_history", "replayed_at")


def archive_values(page: Page, source: str, delivery_id: str,
                   item: dict[str, Any]) -> dict[str, Any]:
    """What the delivery page shows of the archived payload and the replays."""
    archive, now = page.services.archive, page.now()
    archived = archive.get(source, delivery_id, now) if archive is not None else None
    payload = None
    if archived is not None:
        payload = pretty_json({"headers": dict(archived.headers), "body": archived.body})
    return {
        "archived": archived, "payload": payload,
        "no_payload": None if archived is not None else why_not_archived(item, now),
        "replays": int(item.get("replays") or 0),
        "replay_history": list(item.get("replay_history") or []),
        "replayed": page.request.args.get("replayed", ""),
        "can_replay": archived is not None and page.services.deliveries_queue is not None,
    }


def replay_delivery(page: Page, source: str, delivery_id: str) -> Response:
    services = page.services
    if services.archive is None or services.deliveries_queue is None:
        raise NotFound("Replay is not available on this console.")
    # One id chosen: one result, replayed or saying why not.
    result = replay(services.archive, services.deliveries_queue, services.ledger,
                    ReplaySelection(source, (delivery_id,)), page.now())[0]
    if result.outcome != QUEUED:
        raise BadRequest(f"Not replayed: {result.detail}.")
    return redirect(f"{delivery_url(source, delivery_id)}?replayed=1", code=303)


ROUTES = [Rule("/deliveries/<source>/<path:delivery_id>", endpoint=replay_delivery,
               methods=["POST"])]
