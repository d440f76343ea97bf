"""The deliveries queue and its dead-letter queue in SQS (I/O).

Queues are named in the settings; their URLs are looked up once per container.
A message body is the JSON of a queued delivery; the dead-letter copy carries
the reason in message attributes (``failure_code``, ``failure``) so that an
operator can list and redrive dead letters without the ledger.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol

from chalicelib.stores.aws import aws_call

# SQS refuses larger messages; the body is checked before sending so that the
# caller gets a clear 413 instead of an AWS error.
MAX_MESSAGE_BYTES = 256 * 1024
# A message body may hold only #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD
# #x10000-#x10FFFF. JSON already escapes the controls below #x20; what is left
# to escape are the surrogates and U+FFFE, U+FFFF, which can only be in strings.
_REFUSED_BY_SQS = re.compile("[\ud800-\udfff\ufffe\uffff]")


class Queue(Protocol):
    """Send messages, and stretch the invisibility of one being retried."""

    def send(self, body: dict[str, Any], attributes: dict[str, str] | None = None) -> str: ...

    def delay(self, receipt_handle: str, seconds: int) -> None: ...


class SqsQueue:
    """``Queue`` over a boto3 SQS client and a queue name."""

    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self.name = name
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The queue URL, looked up once."""
        if self._url is None:
            with aws_call(f"finding the queue {self.name}"):
                self._url = str(self._client.get_queue_url(QueueName=self.name)["QueueUrl"])
        return self._url

    def send(self, body: dict[str, Any], attributes: dict[str, str] | None = None) -> str:
        kwargs: dict[str, Any] = {"QueueUrl": self.url, "MessageBody": encode_message(body)}
        if attributes:
            kwargs["MessageAttributes"] = {
                key: {"DataType": "String", "StringValue": value}
                for key, value in attributes.items()
            }
        with aws_call(f"sending to the queue {self.name}"):
            return str(self._client.send_message(**kwargs)["MessageId"])

    def delay(self, receipt_handle: str, seconds: int) -> None:
        with aws_call(f"delaying a message on the queue {self.name}"):
            self._client.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )


class InMemoryQueue:
    """``Queue`` in a list, for unit and functional tests."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.messages: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.delays: list[tuple[str, int]] = []

    def send(self, body: dict[str, Any], attributes: dict[str, str] | None = None) -> str:
        encode_message(body)
        self.messages.append((json.loads(json.dumps(body)), dict(attributes or {})))
        return f"m-{len(self.messages)}"

    def delay(self, receipt_handle: str, seconds: int) -> None:
        self.delays.append((receipt_handle, seconds))


class MessageTooLargeError(ValueError):
    """The delivery does not fit in one queue message."""


def encode_message(body: dict[str, Any]) -> str:
    """The compact JSON of a message body, or ``MessageTooLargeError``.

    Text travels as itself, except the code points SQS refuses, written as
    ``\\uXXXX`` escapes: still valid JSON, decoding to the same value.
    """
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    text = _REFUSED_BY_SQS.sub(_escape, text)
    if len(text.encode("utf-8")) > MAX_MESSAGE_BYTES:
        raise MessageTooLargeError(f"the delivery is larger than {MAX_MESSAGE_BYTES} bytes")
    return text


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"
