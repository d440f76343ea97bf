"""``/dlq``: the dead letters with their reasons; choose some or all and redrive them.

Listing and redriving are ``zwa.dlq``'s, the functions ``zwa dlq list`` and
``zwa dlq redrive`` call. The POST (CSRF-checked by the application) redrives
the chosen ones, follows their outcomes for a few seconds, and shows what is
known by then, each with a link to its delivery's page.
"""

from __future__ import annotations

from werkzeug.exceptions import BadRequest, ServiceUnavailable
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from chalicelib.stores.queues import Queue, QueueReader
from zwa.console.page import Page
from zwa.dlq import QUEUED, Selection, list_dead_letters, redrive, wait_for_outcomes
from zwa.inputs import duration

# How long the POST follows the outcomes before it shows what is known.
WAIT_SECONDS = 8.0


def show_dead_letters(page: Page) -> Response:
    dead_letters, _ = _queues(page)
    now = page.now()
    letters = list_dead_letters(dead_letters)
    return page.render("dlq.html", title="Dead letters", letters=letters,
                       ages=[duration(now - letter.dead_since) for letter in letters])


def redrive_dead_letters(page: Page) -> Response:
    dead_letters, queue = _queues(page)
    form = page.request.form
    chosen = frozenset(value for value in form.getlist("delivery") if value)
    everything = form.get("all") == "1"
    if not (chosen or everything):
        raise BadRequest("Choose the dead letters to redrive (tick their boxes), or use "
                         "Redrive all. Nothing was sent back.")
    selection = Selection(delivery_ids=chosen, everything=everything)
    services = page.services
    results = redrive(dead_letters, queue, services.ledger, selection, page.now())
    if any(result.outcome == QUEUED for result in results):
        wait_for_outcomes(services.ledger, results, timeout=WAIT_SECONDS,
                          clock=services.clock, sleep=services.sleep)
    found = {result.letter.delivery_id for result in results}
    return page.render("dlq_redriven.html", title="Redrive", results=results,
                       missing=sorted(chosen - found),
                       sent=sum(1 for result in results if result.outcome == QUEUED))


def _queues(page: Page) -> tuple[QueueReader, Queue]:
    services = page.services
    if services.dead_letters is None or services.deliveries_queue is None:
        raise ServiceUnavailable("This console was started without the stage's queues.")
    return services.dead_letters, services.deliveries_queue


ROUTES = [
    Rule("/dlq", endpoint=show_dead_letters, methods=["GET"]),
    Rule("/dlq/redrive", endpoint=redrive_dead_letters, methods=["POST"]),
]
