"""A queued delivery as the api writes it on the queue and as the worker reads it back."""

import json

import pytest

from chalicelib.delivery.message import QueuedDelivery


def test_a_first_delivery_is_written_with_exactly_its_five_fields():
    delivery = QueuedDelivery("stripe", "evt_1", 12.5, {"X-Id": "1"}, {"a": [1]})
    assert delivery.to_message() == {"source": "stripe", "delivery_id": "evt_1",
                                     "received_at": 12.5, "headers": {"X-Id": "1"},
                                     "body": {"a": [1]}}


def test_a_delivery_sent_again_carries_its_attempts_and_first_send():
    delivery = QueuedDelivery("stripe", "evt_1", 12.5, {}, None, prior_attempts=3,
                              first_sent_at=0.0)
    message = delivery.to_message()
    assert message == {"source": "stripe", "delivery_id": "evt_1", "received_at": 12.5,
                       "headers": {}, "body": None, "prior_attempts": 3, "first_sent_at": 0.0}
    assert QueuedDelivery.from_message(json.dumps(message)) == delivery


def test_a_message_reads_back_as_the_same_delivery():
    delivery = QueuedDelivery("hub", "1:2", 99.0, {"h": "v"}, [1, "x"], prior_attempts=1,
                              first_sent_at=50.5)
    assert QueuedDelivery.from_message(json.dumps(delivery.to_message())) == delivery


def test_missing_optional_fields_read_as_their_defaults():
    read = QueuedDelivery.from_message('{"source": 5, "delivery_id": 7}')
    assert read == QueuedDelivery("5", "7", 0.0, {}, None, 0, None)
    assert isinstance(read.received_at, float) and isinstance(read.prior_attempts, int)
    nulls = QueuedDelivery.from_message(json.dumps({
        "source": "s", "delivery_id": "d", "received_at": "3", "headers": None, "body": 0,
        "prior_attempts": None, "first_sent_at": None}))
    assert nulls == QueuedDelivery("s", "d", 3.0, {}, 0, 0, None)


def test_numbers_written_as_text_are_read_as_numbers():
    read = QueuedDelivery.from_message(json.dumps({
        "source": "s", "delivery_id": "d", "received_at": 1, "prior_attempts": "2",
        "first_sent_at": "4.5"}))
    assert (read.received_at, read.prior_attempts, read.first_sent_at) == (1.0, 2, 4.5)
    assert isinstance(read.first_sent_at, float)


@pytest.mark.parametrize("text", [
    "not json", "[1]", '"text"', '{"delivery_id": "d"}', '{"source": "s"}',
    '{"source": "s", "delivery_id": "d", "received_at": "soon"}',
    '{"source": "s", "delivery_id": "d", "headers": [1]}',
    '{"source": "s", "delivery_id": "d", "prior_attempts": "two"}',
    '{"source": "s", "delivery_id": "d", "prior_attempts": [1]}',
    '{"source": "s", "delivery_id": "d", "first_sent_at": "x"}',
    '{"source": "s", "delivery_id": "d", "first_sent_at": {}}',
    "[" * 100_000,
])
def test_a_message_that_is_not_a_delivery_is_refused_in_one_sentence(text):
    with pytest.raises(ValueError) as caught:
        QueuedDelivery.from_message(text)
    assert str(caught.value) == "the queue message is not a delivery"
