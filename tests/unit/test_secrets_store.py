"""The Secrets Manager store: a read kept for max_age, a forced read, a missing secret."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.errors import UnavailableError
from chalicelib.stores.secrets import SecretNotFoundError, SecretsManagerStore


class FakeSecretsManager:
    """The two calls the store makes, over a dict; ``down`` makes every call fail."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.reads = 0
        self.down = False

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.reads += 1
        if self.down:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
        if SecretId not in self.values:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "GetSecretValue")
        return {"SecretString": self.values[SecretId]}

    def put_secret_value(self, SecretId: str, SecretString: str) -> None:  # noqa: N803
        self.values[SecretId] = SecretString


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_secret_read_is_kept_for_max_age_and_read_again_after() -> None:
    client, clock = FakeSecretsManager(), Clock()
    client.values["s"] = "one"
    store = SecretsManagerStore(client, clock=clock)
    assert store.get("s", max_age=60) == "one"
    client.values["s"] = "two"
    clock.now += 59
    assert store.get("s", max_age=60) == "one"
    clock.now += 2
    assert store.get("s", max_age=60) == "two"
    assert client.reads == 2


def test_a_forced_read_skips_the_kept_value_and_a_write_replaces_it() -> None:
    client = FakeSecretsManager()
    client.values["s"] = "one"
    store = SecretsManagerStore(client, clock=Clock())
    store.get("s")
    client.values["s"] = "two"
    assert store.get("s", force=True) == "two"
    store.put("s", "three")
    assert store.get("s") == "three"
    assert client.reads == 2


def test_a_missing_secret_and_an_unreachable_service_are_told_apart() -> None:
    client = FakeSecretsManager()
    store = SecretsManagerStore(client, clock=Clock())
    with pytest.raises(SecretNotFoundError):
        store.get("absent")
    client.down = True
    with pytest.raises(UnavailableError) as caught:
        store.get("absent")
    assert not isinstance(caught.value, SecretNotFoundError)
