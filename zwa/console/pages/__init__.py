"""The console's pages: one module per page, each declaring its ``ROUTES`` (no I/O of its own).

A page module holds its views and ``ROUTES``, werkzeug rules whose endpoint is
the view itself; its template lives in ``zwa/console/templates`` and extends
``layout.html``. To add a page (the dead letters, a record's history), write
the module and its template, add the module to ``PAGES`` and, for the menu, a
line to ``NAV``.
"""

from __future__ import annotations

from types import ModuleType

from zwa.console.pages import (
    dead_letters,
    deliveries,
    delivery,
    mapping_tools,
    mappings,
    record_history,
    replay,
    sources,
)

PAGES: tuple[ModuleType, ...] = (sources, deliveries, delivery, mappings, mapping_tools,
                                 dead_letters, replay, record_history)
NAV: tuple[tuple[str, str], ...] = (("Sources", "/"), ("Deliveries", "/deliveries"),
                                    ("Dead letters", "/dlq"))
