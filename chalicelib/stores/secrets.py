"""Secrets Manager: read (with a short per-container cache) and write secret strings (I/O).

Reads go through Powertools' ``SecretsProvider``, which caches values for
``max_age`` seconds; a forced read skips the cache (the token cache needs it).
"""

from __future__ import annotations

from typing import Any, Protocol

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

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

    def __init__(self, client: Any) -> None:
        self._client = client
        self._provider = SecretsProvider(boto3_client=client)

    def get(self, secret_id: str, *, max_age: int = 300, force: bool = False) -> str:
        try:
            value = self._provider.get(secret_id, max_age=max_age, force_fetch=force)
        except GetParameterError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ClientError) and error_code(cause) == "ResourceNotFoundException":
                raise SecretNotFoundError(f"the secret {secret_id} does not exist") from exc
            raise UnavailableError(f"reading the secret {secret_id} failed") from exc
        if not isinstance(value, str):
            raise UnavailableError(f"the secret {secret_id} holds no text")
        return value

    def put(self, secret_id: str, value: str) -> None:
        with aws_call(f"writing the secret {secret_id}"):
            try:
                self._client.put_secret_value(SecretId=secret_id, SecretString=value)
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
                self._client.create_secret(Name=secret_id, SecretString=value)


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
