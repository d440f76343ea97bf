"""Secrets Manager: read (with a short per-container cache) and write secret strings (I/O).

A read is kept in memory for ``max_age`` seconds; a forced read skips the cache
(the token cache needs it), and a write replaces the value kept. (A plain
``GetSecretValue``: Powertools' parameters utility would load every provider it
has, AppConfig and SSM included, on each cold start.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import UnavailableError
from chalicelib.stores.aws import aws_call, error_code


class SecretNotFoundError(UnavailableError):
    """The named secret does not exist: an operator has to create it."""


class SecretStore(Protocol):
    """Read and write secret strings by id."""

    def get(self, secret_id: str, *, max_age: int = 300, force: bool = False) -> str: ...

    def put(self, secret_id: str, value: str) -> None: ...


class SecretsManagerStore:
    """``SecretStore`` over a boto3 ``secretsmanager`` client."""

    def __init__(self, client: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._clock = clock
        self._kept: dict[str, tuple[str, float]] = {}  # secret id: (value, read at)

    def get(self, secret_id: str, *, max_age: int = 300, force: bool = False) -> str:
        kept = self._kept.get(secret_id)
        if kept is not None and not force and self._clock() - kept[1] < max_age:
            return kept[0]
        try:
            answer = self._client.get_secret_value(SecretId=secret_id)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                raise SecretNotFoundError(f"the secret {secret_id} does not exist") from exc
            raise UnavailableError(f"reading the secret {secret_id} failed") from exc
        except BotoCoreError as exc:
            raise UnavailableError(f"reading the secret {secret_id} failed") from exc
        value = answer.get("SecretString")
        if not isinstance(value, str):
            raise UnavailableError(f"the secret {secret_id} holds no text")
        self._kept[secret_id] = (value, self._clock())
        return value

    def put(self, secret_id: str, value: str) -> None:
        with aws_call(f"writing the secret {secret_id}"):
            try:
                self._client.put_secret_value(SecretId=secret_id, SecretString=value)
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
                self._client.create_secret(Name=secret_id, SecretString=value)
        self._kept[secret_id] = (value, self._clock())


class InMemorySecretStore:
    """``SecretStore`` in a dict, for unit and functional tests."""

    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values: dict[str, str] = dict(values or {})
        self.reads = 0

    def get(self, secret_id: str, *, max_age: int = 300, force: bool = False) -> str:
        self.reads += 1
        if secret_id not in self.values:
            raise SecretNotFoundError(f"the secret {secret_id} does not exist")
        return self.values[secret_id]

    def put(self, secret_id: str, value: str) -> None:
        self.values[secret_id] = value
