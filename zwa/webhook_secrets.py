"""A source's webhook signing secret, stored where its mapping looks (I/O: Secrets Manager).

The place is the mapping's ``verify.secret_id``, or ``zwa/webhook/{source}``
when the mapping names none or does not exist yet. A plain set replaces the
keys; ``add`` puts the new key first and keeps the older ones, as
``{"secrets": ["newest", "older"]}``, so that a provider's rotation loses no
request: both keys verify until the old one is dropped with a plain set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from chalicelib.ingest.signatures import signing_keys
from chalicelib.mapping.document import default_secret_id
from chalicelib.stores.mappings import MappingStore
from chalicelib.stores.secrets import SecretNotFoundError, SecretStore


@dataclass(frozen=True)
class StoredSigningSecret:
    """Where a signing secret went and how many keys it now holds."""

    secret_id: str
    keys: int
    mapping_found: bool


def signing_secret_id(mappings: MappingStore, source: str) -> tuple[str, bool]:
    """The secret id ``source``'s mapping reads, and whether the mapping exists."""
    stored = mappings.current(source)
    if stored is None:
        return default_secret_id(source), False
    verify = stored.document.get("verify") or {}
    secret_id = verify.get("secret_id") if isinstance(verify, dict) else None
    return (str(secret_id) if secret_id else default_secret_id(source)), True


def store_signing_secret(
    mappings: MappingStore, secrets: SecretStore, source: str, value: str, *, add: bool = False
) -> StoredSigningSecret:
    """Store ``value`` as ``source``'s signing key; with ``add``, keep the older keys after it."""
    secret_id, found = signing_secret_id(mappings, source)
    keys = [value]
    if add:
        try:
            current = secrets.get(secret_id, force=True)
            older = [key.decode("utf-8") for key in signing_keys(current)]
        except SecretNotFoundError:
            older = []
        except ValueError:
            older = []  # not in a known form: it could never verify anything
        keys += [key for key in older if key != value]
    text = value if len(keys) == 1 else json.dumps({"secrets": keys})
    secrets.put(secret_id, text)
    return StoredSigningSecret(secret_id, len(keys), found)
