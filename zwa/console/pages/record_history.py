"""``/records/{module}/{record_id}``: one Zoho record's field-level audit (no I/O of its own).

Newest first, as ``zwa records history`` prints it: when, the outcome, the field
API names (never values), and which delivery, rule and mapping version.
"""

from __future__ import annotations

from werkzeug.exceptions import NotFound
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from zwa.console.page import Page


def show_record_history(page: Page, module: str, record_id: str) -> Response:
    audit = page.services.audit
    if audit is None:
        raise NotFound("The field-level audit is not available on this console.")
    connection = page.request.args.get("connection", "default") or "default"
    entries = audit.history(connection, module, record_id)
    return page.render("record_history.html", title=f"{module} {record_id}", module=module,
                       record_id=record_id, connection=connection, entries=entries)


ROUTES = [Rule("/records/<module>/<record_id>", endpoint=show_record_history, methods=["GET"])]
