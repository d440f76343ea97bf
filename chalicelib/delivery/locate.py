"""Sending a rule's update to its record, found by id, External ID or search.

I/O only through the Zoho client and the cache it is given.

An ``id`` or ``external`` locator names the record in the plan itself. A
``search`` locator names a field and a value: the record is the one whose field
holds exactly that value, found with Zoho's search and re-checked here
(``chalicelib.zoho.search``). The id found is cached (``stores.search_cache``)
so a repeated event costs one Zoho call, not two:

- cached id: the update goes there; when Zoho answers that this id names no
  record any more (deleted, merged), the entry is dropped and the search made
  once more;
- no exact match: ``RECORD_NOT_FOUND`` naming the field. Zoho's search index
  lags new records a little, so a first miss is retried (``SearchMissError``,
  kept on the queue at least the backoff's base) and only a second one is final;
- several exact matches: ``AMBIGUOUS_RECORD`` with the count, never a guess.

A cache that cannot be read or written costs a search, never the delivery.
"""

from __future__ import annotations

from chalicelib.errors import (
    Failure,
    PermanentDeliveryError,
    SearchMissError,
    UnavailableError,
)
from chalicelib.mapping.engine import PlannedUpdate
from chalicelib.observability import logger
from chalicelib.stores.search_cache import SearchCache, SearchKey
from chalicelib.zoho.client import CrmRecords
from chalicelib.zoho.responses import ZohoOutcome
from chalicelib.zoho.search import exact_matches, record_is_gone, search_criteria

# How long a found id is trusted without searching again. A record whose value
# moved to another record within this time is still updated under the old id.
SEARCH_CACHE_SECONDS = 86400
# The code a search that found nothing ends with (retried once, then final).
RECORD_NOT_FOUND = "RECORD_NOT_FOUND"
AMBIGUOUS_RECORD = "AMBIGUOUS_RECORD"


def send_update(
    plan: PlannedUpdate, crm: CrmRecords, cache: SearchCache, connection: str, now: float,
    *, missed_before: bool = False, if_unmodified_since: str | None = None,
) -> ZohoOutcome:
    """Apply ``plan`` to its record; ``missed_before``: this rule's search found nothing on
    an earlier attempt of the same delivery, so a miss now is final."""
    if plan.search_field is None:
        return crm.update_record(plan, if_unmodified_since=if_unmodified_since)
    key = SearchKey(connection, plan.module, plan.search_field, plan.record)
    cached = _cached_id(cache, key, now)
    if cached is not None:
        try:
            return crm.update_record(plan.located(cached),
                                     if_unmodified_since=if_unmodified_since)
        except PermanentDeliveryError as exc:
            if not record_is_gone(exc.failure):
                raise
            logger.info("the cached record id names no record any more; searching again",
                        extra={"rule": plan.rule, "zoho_module": plan.module, "record_id": cached})
            _forget(cache, key, cached)
    record_id = _search(plan, crm, missed_before)
    _remember(cache, key, record_id, now)
    try:
        return crm.update_record(plan.located(record_id),
                                 if_unmodified_since=if_unmodified_since)
    except PermanentDeliveryError as exc:
        if record_is_gone(exc.failure):  # deleted between the search and the update
            _forget(cache, key, record_id)
        raise


def _search(plan: PlannedUpdate, crm: CrmRecords, missed_before: bool) -> str:
    assert plan.search_field is not None
    field = plan.search_field
    rows = crm.search_records(plan.module, search_criteria(field, plan.record))
    found = exact_matches(rows, field, plan.record)
    if len(found) == 1:
        logger.info("record found by search", extra={
            "rule": plan.rule, "zoho_module": plan.module, "field": field, "record_id": found[0]})
        return found[0]
    if found:
        raise PermanentDeliveryError(Failure(
            code=AMBIGUOUS_RECORD, api_name=field, rule=plan.rule, details={"count": len(found)},
            message=f"{len(found)} {plan.module} records hold this {field}; a rule updates "
                    "exactly one record: make the field unique in Zoho or search another one"))
    failure = Failure(
        code=RECORD_NOT_FOUND, api_name=field, rule=plan.rule,
        message=f"no {plan.module} record holds this {field}"
                + ("" if missed_before else "; searched again after the backoff, since "
                   "Zoho's search may not show a record created seconds ago"))
    if missed_before:
        raise PermanentDeliveryError(failure)
    raise SearchMissError(failure)


def _cached_id(cache: SearchCache, key: SearchKey, now: float) -> str | None:
    try:
        return cache.get(key, now)
    except UnavailableError:
        logger.warning("could not read the search cache; searching instead")
        return None


def _remember(cache: SearchCache, key: SearchKey, record_id: str, now: float) -> None:
    try:
        cache.put(key, record_id, now=now, expires_at=now + SEARCH_CACHE_SECONDS)
    except UnavailableError:
        logger.warning("could not write the search cache; the next event searches again")


def _forget(cache: SearchCache, key: SearchKey, record_id: str) -> None:
    try:
        cache.drop(key, record_id)
    except UnavailableError:
        logger.warning("could not drop a search cache entry; it is replaced when found again")
