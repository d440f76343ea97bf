"""Translation of boto3/botocore failures into ``UnavailableError`` (no I/O of its own)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import UnavailableError


def error_code(exc: ClientError) -> str:
    """The AWS error code of a ``ClientError``."""
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def aws_call(what: str) -> Iterator[None]:
    """Run an AWS call; any AWS failure becomes ``UnavailableError`` naming ``what``."""
    try:
        yield
    except ClientError as exc:
        raise UnavailableError(f"{what} failed ({error_code(exc) or 'AWS error'})") from exc
    except BotoCoreError as exc:
        raise UnavailableError(f"{what} failed ({type(exc).__name__})") from exc


def conditional_write(call: Callable[..., Any], **request: Any) -> bool:
    """Make a conditional DynamoDB write; False when its condition did not hold.

    Any other failure is raised as it is, for ``aws_call`` around it to name.
    """
    try:
        call(**request)
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True
