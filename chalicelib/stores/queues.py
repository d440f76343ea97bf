"""The deliveries queue and its dead-letter queue in SQS (I/O).

Queues are named in the settings; their URLs are looked up once per container.
A message body is the JSON of a queued delivery; the dead-letter copy carries
the reason in message attributes (``failure_code``, ``failure``) so that an
operator can list and redrive dead letters without the ledger
(``QueueReader``: receive, hidden for a while, and delete).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from chalicelib.stores.aws import aws_call
from chalicelib.values import frozen

# SQS delays a new message by at most 15 minutes.
MAX_DELAY_SECONDS = 900
# SQS refuses larger messages; the body is checked before sending so that the
# caller gets a clear 413 instead of an AWS error.
MAX_MESSAGE_BYTES = 256 * 1024


class Queue(Protocol):
    """Send messages, and stretch the invisibility of one being retried."""

    def send(self, body: dict[str, Any], attributes: dict[str, str] | None = None,
             delay_seconds: int = 0) -> str: ...

    def delay(self, receipt_handle: str, seconds: int) -> None: ...


@frozen
class ReceivedMessage:
    """A message taken from a queue: hidden from others until deleted or made visible."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str]  # the message attributes' string values
    sent_at: float  # epoch seconds when it was sent to this queue


class QueueReader(Protocol):
    """Take messages from a queue (the dead-letter queue, for a redrive) and delete them."""

    def receive(self, max_messages: int, hide_seconds: int) -> list[ReceivedMessage]: ...

    def delete(self, receipt_handle: str) -> None: ...

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

    def send(self, body: dict[str, Any], attributes: dict[str, str] | None = None,
             delay_seconds: int = 0) -> str:
        kwargs: dict[str, Any] = {"QueueUrl": self.url, "MessageBody": encode_message(body)}
        if delay_seconds:
            kwargs["DelaySeconds"] = min(max(int(delay_seconds), 0), MAX_DELAY_SECONDS)
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

    def receive(self, max_messages: int, hide_seconds: int) -> list[ReceivedMessage]:
        """Up to ``max_messages`` (at most 10) messages, hidden for ``hide_seconds``."""
        with aws_call(f"receiving from the queue {self.name}"):
            answer = self._client.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=min(max(max_messages, 1), 10),
                VisibilityTimeout=hide_seconds, WaitTimeSeconds=1,
                AttributeNames=["SentTimestamp"], MessageAttributeNames=["All"])
        return [ReceivedMessage(
            message_id=str(m["MessageId"]), receipt_handle=str(m["ReceiptHandle"]),
            body=str(m.get("Body", "")),
            attributes={k: str(v.get("StringValue", ""))
                        for k, v in (m.get("MessageAttributes") or {}).items()},
            sent_at=int((m.get("Attributes") or {}).get("SentTimestamp", 0)) / 1000,
        ) for m in answer.get("Messages", [])]

    def delete(self, receipt_handle: str) -> None:
        with aws_call(f"deleting a message from the queue {self.name}"):
            self._client.delete_message(QueueUrl=self.url, ReceiptHandle=receipt_handle)


class InMemoryQueue:
    """``Queue`` and ``QueueReader`` in a list, for unit and functional tests.

    ``messages`` holds what is on the queue, in order; a received message's
    receipt handle is its message id, and ``now`` stands for the clock.
    """

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.messages: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.delays: list[tuple[str, int]] = []
        self.send_delays: list[int] = []
        self.now = 0.0
        self._ids: list[str] = []
        self._sent_at: list[float] = []
        self._hidden: set[str] = set()
        self._sent = 0

    def send(self, body: dict[str, Any], attributes: dict[str, str] | None = None,
             delay_seconds: int = 0) -> str:
        encode_message(body)
        self._sent += 1
        message_id = f"m-{self._sent}"
        self.messages.append((json.loads(json.dumps(body)), dict(attributes or {})))
        self._ids.append(message_id)
        self._sent_at.append(self.now)
        self.send_delays.append(delay_seconds)
        return message_id

    def delay(self, receipt_handle: str, seconds: int) -> None:
        self.delays.append((receipt_handle, seconds))
        if seconds == 0:
            self._hidden.discard(receipt_handle)

    def receive(self, max_messages: int, hide_seconds: int) -> list[ReceivedMessage]:
        taken: list[ReceivedMessage] = []
        for message_id, (body, attributes), sent_at in zip(
                self._ids, self.messages, self._sent_at, strict=True):
            if message_id in self._hidden or len(taken) >= min(max_messages, 10):
                continue
            self._hidden.add(message_id)
            taken.append(ReceivedMessage(message_id, message_id, json.dumps(body),
                                         dict(attributes), sent_at))
        return taken

    def delete(self, receipt_handle: str) -> None:
        if receipt_handle in self._ids:
            index = self._ids.index(receipt_handle)
            for kept in (self._ids, self.messages, self._sent_at):
                del kept[index]
        self._hidden.discard(receipt_handle)


class MessageTooLargeError(ValueError):
    """The delivery does not fit in one queue message."""


def encode_message(body: dict[str, Any]) -> str:
    """The compact JSON of a message body, or ``MessageTooLargeError``.

    Text travels as itself, except the code points SQS refuses, written as
    ``\\uXXXX`` escapes: still valid JSON, decoding to the same value. A message
    body may hold only #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF.
    JSON already escapes the controls below #x20; what is left are U+FFFE, U+FFFF
    and the surrogates (the only code points UTF-8 cannot encode), which can only
    be in strings.
    """
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    if "\ufffe" in text or "\uffff" in text:
        text = text.replace("\ufffe", "\\ufffe").replace("\uffff", "\\uffff")
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: the api refuses them, a caller may not
        encoded = text.encode("utf-8", "backslashreplace")  # each as \\uXXXX
        text = encoded.decode("utf-8")
    if len(encoded) > MAX_MESSAGE_BYTES:
        raise MessageTooLargeError(f"the delivery is larger than {MAX_MESSAGE_BYTES} bytes")
    return text
