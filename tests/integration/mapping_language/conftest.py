"""A local stack of their own for the mapping language's integration tests.

These tests store mappings and run zwa against Zoho's field metadata, which
stores the token it makes in the connection secret. The other integration tests
must see neither: ``zwa doctor`` checks every stored source, and a token stored
by zwa changes which token a worker tries after the sandbox is reset. So this
package starts its own stack (moto server, sandbox, chalice local, worker).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from chalicelib.stores.ledger import DynamoLedger
from devstack.stack import LocalStack
from tests.integration.conftest import started_stack


@pytest.fixture(scope="package")
def stack() -> Iterator[LocalStack]:
    yield from started_stack("zwa-mapping-stack-")


@pytest.fixture(scope="package")
def ledger(stack: LocalStack) -> DynamoLedger:
    stage = stack.stage()
    return DynamoLedger(stage.client("dynamodb"), stage.settings.deliveries_table)


@pytest.fixture(autouse=True)
def own_field_cache(tmp_path_factory, monkeypatch):
    """zwa keeps Zoho's field metadata between runs; these tests start without any."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def cli_token_forgotten(stack):
    """After each test, the connection keeps no token a zwa run stored there.

    The next test's sandbox reset kills every token; a worker whose own token is
    refused then takes the one stored in the connection, which is refused too,
    and waits minutes before making another. Forgetting it makes the worker refresh.
    """
    yield
    secrets = stack.stage().client("secretsmanager")
    secret_id = "zwa/connection/default"
    connection = json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"])
    for key in ("access_token", "api_domain", "expires_at"):
        connection.pop(key, None)
    secrets.put_secret_value(SecretId=secret_id, SecretString=json.dumps(connection))
