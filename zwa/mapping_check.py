"""``zwa mapping validate`` and ``zwa mapping put``: a mapping checked in one pass (I/O).

The shape and, through the mapping's connection, Zoho's field metadata (kept
``FIELD_CACHE_SECONDS`` between runs); ``--offline`` checks the shape alone and
says so. The checking itself is ``chalicelib.mapping.check``; this module builds
the metadata source for a stage and renders the outcome.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from chalicelib.errors import DeliveryError, FieldMetadataUnavailableError, UnavailableError
from chalicelib.mapping.check import MappingCheck, check_mapping
from chalicelib.stores.mappings import DynamoMappingStore
from chalicelib.stores.secrets import SecretsManagerStore
from chalicelib.zoho.client import ZohoClient
from chalicelib.zoho.fields import CachedFieldMetadata, ZohoFieldMetadata
from chalicelib.zoho.tokens import TokenProvider, connection_secret_id
from zwa.field_cache import FIELD_CACHE_SECONDS, JsonFileFieldCache, cache_directory
from zwa.stage import Stage


def plural(count: int, word: str) -> str:
    """``1 rule``, ``2 rules``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def connection_of(raw: Any) -> str:
    """The connection a stored document names (``default`` when it names none)."""
    name = raw.get("connection", "default") if isinstance(raw, dict) else "default"
    return name if isinstance(name, str) and name else "default"


def zoho_client(stage: Stage, connection: str, session: requests.Session) -> ZohoClient:
    """A client for the stage's connection ``connection``."""
    tokens = TokenProvider(
        SecretsManagerStore(stage.client("secretsmanager")), session,
        connection_secret_id(stage.settings.secret_prefix, connection),
        timeout=stage.settings.token_timeout_seconds)
    return ZohoClient(session, tokens, timeout=stage.settings.zoho_timeout_seconds)


def field_source(stage: Stage, connection: str, client: ZohoClient) -> CachedFieldMetadata:
    """Zoho's field metadata through ``client``, cached between runs."""
    return CachedFieldMetadata(
        ZohoFieldMetadata(client), JsonFileFieldCache(cache_directory()),
        namespace=f"{stage.name}/{connection}", ttl=FIELD_CACHE_SECONDS)


def fields_and_domain(stage: Stage, connection: str) -> tuple[CachedFieldMetadata, str]:
    """The connection's field metadata (read when first asked) and the API domain its PUTs go to.

    Either may raise ``DeliveryError`` or ``UnavailableError``: they read the
    connection's token.
    """
    client = zoho_client(stage, connection, requests.Session())
    return field_source(stage, connection, client), client.api_domain()


def check_document(stage: Stage, raw: Any, *, offline: bool) -> MappingCheck:
    """Check ``raw``; raises ``FieldMetadataUnavailableError`` when Zoho cannot be asked."""
    if offline:
        return check_mapping(raw, None)
    connection = connection_of(raw)
    client = zoho_client(stage, connection, requests.Session())
    try:
        return check_mapping(raw, field_source(stage, connection, client))
    except (DeliveryError, UnavailableError) as exc:
        raise metadata_unavailable(stage, connection, exc) from exc


def metadata_unavailable(
    stage: Stage, connection: str, exc: DeliveryError | UnavailableError
) -> FieldMetadataUnavailableError:
    """The error saying why Zoho's fields could not be read, and what to do."""
    reason = f"{exc.failure.code}: {exc.failure.message}" if isinstance(
        exc, DeliveryError) else str(exc)
    return FieldMetadataUnavailableError(
        f"could not read Zoho's field metadata through the connection {connection} ({reason}); "
        f"check it with 'zwa --stage {stage.name} connection test {connection}', or check the "
        "shape alone with --offline")


def validate_file(stage: Stage, raw: Any, *, offline: bool) -> list[str]:
    """What ``mapping validate`` prints; ``MappingDocumentError`` lists every problem."""
    checked = check_document(stage, raw, offline=offline)
    document = checked.raise_for_problems()
    rules = plural(len(document.rules), "rule")
    if checked.offline:
        head = (f"mapping {document.source} is valid in shape ({rules}); not checked against "
                "Zoho's field metadata (--offline)")
    else:
        head = (f"mapping {document.source} is valid ({rules}), checked against Zoho's field "
                f"metadata of {', '.join(checked.modules)} (connection {document.connection})")
    return [head, *(f"note: {note}" for note in checked.notes)]


def put_file(stage: Stage, raw: Any, *, offline: bool) -> list[str]:
    """Check then store ``raw`` as the source's new version; what ``mapping put`` prints."""
    checked = check_document(stage, raw, offline=offline)
    document = checked.raise_for_problems()
    stored = DynamoMappingStore(stage.client("dynamodb"), stage.settings.mappings_table).save(
        raw, now=time.time())
    how = ("--offline: not checked against Zoho's field metadata" if checked.offline
           else f"checked against Zoho's field metadata of {', '.join(checked.modules)}")
    head = (f"mapping {stored.source} saved as version {stored.version} "
            f"({plural(len(document.rules), 'rule')}; {how})")
    return [head, *(f"note: {note}" for note in checked.notes)]
