"""Checking a webhook's signature with the source's keys from Secrets Manager (I/O: secrets).

Keys are read through the injected ``SecretStore`` (cached for 5 minutes). A
well-formed, fresh signature that no cached key computes may mean the secret was
just rotated: it is checked once more with keys read afresh, at most once per
secret every ``FRESH_KEYS_INTERVAL_SECONDS`` in a container, so that forged
signatures cannot become Secrets Manager calls.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from chalicelib.errors import UnavailableError
from chalicelib.ingest.request import WebhookRequest
from chalicelib.ingest.signatures import (
    SignatureMismatchError,
    scheme_keys,
    signing_keys,
    verify_signature,
)
from chalicelib.mapping.document import MappingDocument
from chalicelib.stores.secrets import SecretStore

FRESH_KEYS_INTERVAL_SECONDS = 10.0


def authenticate(
    document: MappingDocument,
    request: WebhookRequest,
    secrets: SecretStore,
    fresh_key_reads: MutableMapping[str, float],
    now: float,
) -> None:
    """Return if the request is signed by the source, else raise ``InvalidSignatureError``.

    ``UnavailableError`` when the secret cannot be read or holds no usable key: an
    operator's mistake, not the caller's, so the provider is told to retry.
    """
    config = document.verify
    if config.scheme == "none":
        return
    if not config.secret_id:
        raise UnavailableError(f"the mapping of {document.source} names no signing secret")
    headers, url = request.lower_headers, request.url(config)

    def check(keys: list[bytes]) -> None:
        verify_signature(config, keys, headers, request.raw_body, now,
                         method=request.method, url=url)

    try:
        check(_keys(config.secret_id, document, secrets))
    except SignatureMismatchError:
        last = fresh_key_reads.get(config.secret_id)
        if last is not None and now - last < FRESH_KEYS_INTERVAL_SECONDS:
            raise
        fresh_key_reads[config.secret_id] = now
        check(_keys(config.secret_id, document, secrets, fresh=True))


def _keys(
    secret_id: str, document: MappingDocument, secrets: SecretStore, fresh: bool = False
) -> list[bytes]:
    secret = secrets.get(secret_id, force=fresh)
    try:
        return scheme_keys(document.verify, signing_keys(secret))
    except ValueError as exc:
        # An empty or malformed secret is an operator's mistake, like a missing one.
        raise UnavailableError(
            f"the signing secret {secret_id} is empty or not in a form the "
            f"{document.verify.scheme} scheme takes"
        ) from exc
