"""``/deliveries/{source}/{delivery_id}``: one ledger item, its rules and its last error."""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from zwa.console.page import Page
from zwa.console.pages.replay import ARCHIVE_KEYS, archive_values

# Shown in the facts table, in this order; any other key goes under "Other fields".
FACTS = ("status", "attempts", "received_at", "updated_at", "next_attempt_at",
         "mapping_version", "matched_rules", "expires_at")
TIMES = frozenset({"received_at", "updated_at", "next_attempt_at", "expires_at"})
SHOWN = frozenset({"source", "delivery_id", "rules", "last_error", *FACTS, *ARCHIVE_KEYS})
ERROR_KEYS = ("code", "message", "api_name", "expected_data_type", "http_status", "rule", "path")


def show_delivery(page: Page, source: str, delivery_id: str) -> Response:
    item = page.services.ledger.get(source, delivery_id)
    if item is None:
        raise NotFound(f"No delivery {delivery_id!r} for source {source!r}. Ledger items are "
                       "kept 14 days; the list of deliveries shows those there are.")
    error: dict[str, Any] = item.get("last_error") or {}
    return page.render(
        "delivery.html", title=f"{source} / {delivery_id}", item=item, source=source,
        delivery_id=delivery_id, facts=[key for key in FACTS if key in item], times=TIMES,
        rules=_rules(item), error=error,
        error_rows=[(key, error[key]) for key in ERROR_KEYS if key in error],
        others={key: value for key, value in item.items() if key not in SHOWN},
        **archive_values(page, source, delivery_id, item))


def _rules(item: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Each rule with its outcome; a matched rule with none yet is pending."""
    outcomes: dict[str, Any] = item.get("rules") or {}
    names = list(item.get("matched_rules") or [])
    names += [name for name in sorted(outcomes) if name not in names]
    return [(name, outcomes.get(name) or {"outcome": "pending"}) for name in names]


ROUTES = [Rule("/deliveries/<source>/<path:delivery_id>", endpoint=show_delivery,
               methods=["GET"])]
