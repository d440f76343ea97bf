"""Previews against the sandbox's field metadata, read over HTTP as Zoho's would be."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from chalicelib.stores.secrets import InMemorySecretStore
from chalicelib.zoho.client import ZohoClient
from chalicelib.zoho.fields import ZohoFieldMetadata
from chalicelib.zoho.tokens import TokenProvider
from devstack.stack import SANDBOX_CLIENT


def sandbox_metadata(sandbox: str) -> tuple[ZohoFieldMetadata, str]:
    """The sandbox's field metadata over HTTP, and the api domain of its tokens."""
    secret_id = "zwa/connection/examples"
    secrets = InMemorySecretStore({secret_id: json.dumps(
        {**SANDBOX_CLIENT, "accounts_url": sandbox})})
    session = requests.Session()
    client = ZohoClient(session, TokenProvider(secrets, session, secret_id))
    return ZohoFieldMetadata(client), client.api_domain()


def holds(stored: Any, planned: Any) -> bool:
    """Whether the sandbox's stored value is the value the preview planned to send."""
    if isinstance(planned, dict):  # a lookup: the sandbox adds the record's name
        return isinstance(stored, dict) and stored.get("id") == planned["id"]
    if isinstance(planned, list):
        return sorted(stored or []) == sorted(planned)
    if isinstance(planned, float):
        return stored == pytest.approx(planned)
    return bool(stored == planned or str(stored) == str(planned))
