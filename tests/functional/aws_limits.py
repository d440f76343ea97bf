"""In-memory stores that hold the limits of the AWS services they stand for.

The plain in-memory fakes take anything; these refuse what SQS and DynamoDB
refuse, so that a functional test sees the 503 a deployed stack would answer.
"""

import json
import re

from chalicelib.errors import UnavailableError
from chalicelib.stores.ledger import InMemoryLedger
from chalicelib.stores.queues import InMemoryQueue, encode_message


class SqsLikeQueue(InMemoryQueue):
    """A queue that, as SQS does, refuses a message body holding code points it does not take."""

    ALLOWED = re.compile("^[\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")

    def send(self, body, attributes=None):
        text = encode_message(body)
        if not self.ALLOWED.match(text):
            raise UnavailableError("sending to the queue failed (InvalidMessageContents)")
        self.messages.append((json.loads(text), dict(attributes or {})))
        return f"m-{len(self.messages)}"


class DynamoLikeLedger(InMemoryLedger):
    """A ledger that, as DynamoDB does, refuses a sort key over 1,024 bytes or not UTF-8."""

    def create(self, item):
        try:
            size = len(item["delivery_id"].encode("utf-8"))
        except UnicodeEncodeError:
            size = None
        if size is None or size > 1024:
            raise UnavailableError("writing the delivery ledger failed (ValidationException)")
        return super().create(item)
