"""Settings: the one frozen object built from the environment (no I/O but ``environ``).

Non-secret configuration comes from ``.chalice/config.json`` per stage, which
Chalice turns into environment variables; secrets live in Secrets Manager only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from chalicelib.errors import SettingsError
from chalicelib.values import frozen

T = TypeVar("T", int, float)


@frozen
class Settings:
    """Names of the AWS resources and the knobs of the pipeline."""

    mappings_table: str
    deliveries_table: str
    deliveries_queue: str
    dead_letter_queue: str
    # What the adapter knows about each Zoho record (ordering guard, credit saver,
    # search cache) and short leases, in one table keyed by ``pk``.
    records_table: str = "zwa-records"
    # Accepted payloads kept for replay (SPEC 9), apart from the ledger.
    archive_table: str = "zwa-archive"
    # Which fields each update set on which Zoho record (names only), kept as the ledger.
    audit_table: str = "zwa-audit"
    mapping_cache_seconds: float = 60.0
    ledger_ttl_days: int = 14
    retry_base_seconds: float = 30.0
    retry_cap_seconds: float = 900.0
    zoho_timeout_seconds: float = 15.0
    token_timeout_seconds: float = 10.0
    # Kept in hand beyond the token and Zoho timeouts before the worker starts
    # one more message of a batch.
    time_margin_seconds: float = 5.0
    secret_prefix: str = "zwa"  # noqa: S105 (a name prefix, not a secret)
    # Zoho's concurrency cap of a connection (calls at once, all workers together),
    # and the most worker containers Lambda runs at once.
    zoho_concurrency: int = 10
    worker_max_concurrency: int = 10

    @property
    def parallel_messages(self) -> int:
        """Messages one worker container handles at once: all containers stay within the cap."""
        return max(1, self.zoho_concurrency // max(1, self.worker_max_concurrency))


_REQUIRED = {
    "mappings_table": "ZWA_MAPPINGS_TABLE",
    "deliveries_table": "ZWA_DELIVERIES_TABLE",
    "deliveries_queue": "ZWA_DELIVERIES_QUEUE",
    "dead_letter_queue": "ZWA_DEAD_LETTER_QUEUE",
}

_OPTIONAL_FLOATS = {
    "mapping_cache_seconds": "ZWA_MAPPING_CACHE_SECONDS",
    "retry_base_seconds": "ZWA_RETRY_BASE_SECONDS",
    "retry_cap_seconds": "ZWA_RETRY_CAP_SECONDS",
    "zoho_timeout_seconds": "ZWA_ZOHO_TIMEOUT_SECONDS",
    "token_timeout_seconds": "ZWA_TOKEN_TIMEOUT_SECONDS",
    "time_margin_seconds": "ZWA_TIME_MARGIN_SECONDS",
}

_OPTIONAL_COUNTS = {
    "zoho_concurrency": "ZWA_ZOHO_CONCURRENCY",
    "worker_max_concurrency": "ZWA_WORKER_MAX_CONCURRENCY",
}


_OPTIONAL_NAMES = {
    "records_table": "ZWA_RECORDS_TABLE",
    "archive_table": "ZWA_ARCHIVE_TABLE",
    "audit_table": "ZWA_AUDIT_TABLE",
}


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build the settings from ``environ``; a missing or malformed variable fails loudly."""
    missing = [name for name in _REQUIRED.values() if not environ.get(name)]
    if missing:
        raise SettingsError(f"missing environment variables: {', '.join(sorted(missing))}")
    values: dict[str, object] = {key: environ[name] for key, name in _REQUIRED.items()}
    for key, name in _OPTIONAL_FLOATS.items():
        if environ.get(name):
            values[key] = _number(environ, name, float, "a number")
    if environ.get("ZWA_LEDGER_TTL_DAYS"):
        values["ledger_ttl_days"] = _number(environ, "ZWA_LEDGER_TTL_DAYS", int,
                                            "a whole number")
    for key, name in _OPTIONAL_NAMES.items():
        if environ.get(name):
            values[key] = environ[name]
    for key, name in _OPTIONAL_COUNTS.items():
        if environ.get(name):
            values[key] = count = _number(environ, name, int, "a whole number")
            if count < 1:
                raise SettingsError(f"{name} must be at least 1")
    return Settings(
        secret_prefix=environ.get("ZWA_SECRET_PREFIX", "zwa"),
        **values,  # type: ignore[arg-type]
    )


def _number(environ: Mapping[str, str], name: str, kind: Callable[[str], T], what: str) -> T:
    """``environ[name]`` as a ``kind``, or a ``SettingsError`` saying it must be ``what``."""
    try:
        return kind(environ[name])
    except ValueError as exc:
        raise SettingsError(f"{name} must be {what}") from exc
