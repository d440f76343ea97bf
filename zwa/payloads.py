"""``zwa deliveries show SOURCE ID --payload``: a delivery's archived payload (I/O).

The payload is what the provider sent, parsed, with the headers the mapping
reads: it is printed for the operator who asked, and nowhere else.
"""

from __future__ import annotations

import json
import time

from chalicelib.stores.archive import DynamoArchive
from chalicelib.stores.ledger import DynamoLedger
from zwa.inputs import iso_time
from zwa.replay import why_not_archived
from zwa.stage import Stage


def show_payload(stage: Stage, source: str, delivery_id: str, *, as_json: bool) -> int:
    """Print the archived payload; ``ValueError`` saying why when there is none."""
    dynamodb = stage.client("dynamodb")
    now = time.time()
    archived = DynamoArchive(dynamodb, stage.settings.archive_table).get(source, delivery_id, now)
    if archived is None:
        item = DynamoLedger(dynamodb, stage.settings.deliveries_table).get(source, delivery_id)
        raise ValueError(f"no archived payload for {source} {delivery_id}: "
                         f"{why_not_archived(item, now)}")
    document = {"source": source, "delivery_id": delivery_id,
                "received_at": archived.received_at, "archived_until": archived.expires_at,
                "headers": dict(archived.headers), "body": archived.body}
    if not as_json:
        document["received_at"] = iso_time(archived.received_at)
        document["archived_until"] = iso_time(archived.expires_at)
    print(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))
    return 0
