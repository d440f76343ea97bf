"""A delivery's id and a batch's items, read from the payload by the mapping, or why not."""

import hashlib

import pytest

from chalicelib.errors import MalformedPayloadError, MappingDocumentError, PayloadTooLargeError
from chalicelib.mapping.check import check_mapping
from chalicelib.mapping.document import parse_mapping
from chalicelib.mapping.engine import batch_items, delivery_id_of

RULE = {"name": "r", "module": "Deals", "record": {"id": "zid"}, "fields": {"Amount": "a"}}


def document(**more):
    return parse_mapping({"source": "s", "rules": [RULE], **more})


def refusal(call, kind=MalformedPayloadError):
    with pytest.raises(kind) as caught:
        call()
    return caught.value.message


@pytest.mark.parametrize("expression, body, headers, delivery_id", [
    ("id", {"id": " evt_1 "}, {}, "evt_1"),
    ("id", {"id": 0}, {}, "0"),
    ("[portal, event]", {"portal": 7, "event": "e"}, {}, "7|e"),
    ("header:X-Event", {}, {"x-event": "h-1"}, "h-1"),
])
def test_a_delivery_id_is_read_and_trimmed(expression, body, headers, delivery_id):
    assert delivery_id_of(document(delivery_id=expression), body, headers, b"") == delivery_id


def test_without_an_expression_the_id_is_the_bodys_sha256():
    assert delivery_id_of(document(), {}, {}, b"raw") == hashlib.sha256(b"raw").hexdigest()


@pytest.mark.parametrize("body", [
    {}, {"id": None}, {"id": ""}, {"id": "  "}, {"id": True}, {"id": 1.5}, {"id": {"a": 1}},
    {"id": [1, None]}, {"id": [1, ""]},
])
def test_a_missing_part_of_the_id_is_a_400_naming_the_expression(body):
    assert refusal(lambda: delivery_id_of(document(delivery_id="id"), body, {}, b"")) == (
        "the delivery id (id) is missing from the request")


def test_an_empty_list_is_a_missing_id_and_a_list_is_joined():
    assert refusal(lambda: delivery_id_of(document(delivery_id="id"), {"id": []}, {}, b"")) == (
        "the delivery id (id) is missing from the request")
    assert delivery_id_of(document(delivery_id="id"), {"id": ["a", 2]}, {}, b"") == "a|2"


def test_an_id_of_512_bytes_is_accepted_and_one_more_is_a_400_saying_its_size():
    doc = document(delivery_id="id")
    assert delivery_id_of(doc, {"id": "é" * 256}, {}, b"") == "é" * 256
    assert refusal(lambda: delivery_id_of(doc, {"id": "a" * 513}, {}, b"")) == (
        "the delivery id (id) is 513 bytes in UTF-8; at most 512 bytes are accepted")


def test_an_id_that_is_not_text_is_a_400():
    assert refusal(lambda: delivery_id_of(document(delivery_id="id"), {"id": "\ud800"}, {},
                                          b"")) == "the delivery id (id) is not valid text"


def test_an_id_expression_that_cannot_be_evaluated_says_why():
    message = refusal(lambda: delivery_id_of(document(delivery_id="starts_with(id, 'x')"),
                                             {"id": 5}, {}, b""))
    assert message == ("the delivery id (starts_with(id, 'x')) cannot be read from this "
                       "payload: starts_with() takes string, not number")


def each(expression="items"):
    return document(each=expression, delivery_id="eventId")


def test_a_batch_gives_its_items_up_to_one_hundred():
    items = [{"eventId": n} for n in range(100)]
    assert batch_items(each(), {"items": items}, {}) == items
    assert batch_items(each(), {"items": []}, {}) == []


def test_a_batch_of_more_than_one_hundred_items_is_too_large_saying_how_many():
    items = [{"eventId": n} for n in range(101)]
    assert refusal(lambda: batch_items(each(), {"items": items}, {}), PayloadTooLargeError) == (
        "each (items) gives 101 items; at most 100 are accepted in one request")


@pytest.mark.parametrize("body", [{"items": {"a": 1}}, {}, {"items": "x"}, [1]])
def test_a_batch_that_gives_no_list_is_a_400(body):
    assert refusal(lambda: batch_items(each(), body, {})) == (
        "each (items) gives no list for this payload")


def test_a_batch_expression_that_cannot_be_evaluated_says_why():
    message = refusal(lambda: batch_items(each("sort(items)"), {"items": [1, "a"]}, {}))
    assert message == ("each (sort(items)) cannot be evaluated on this payload: sort() takes "
                       "array-string or array-number, not str")


def test_a_document_that_does_not_compile_reports_its_problems_and_none_offline():
    checked = check_mapping({"source": "s", "rules": [{**RULE, "module": "deals x"}]}, None)
    assert checked.document is None and checked.offline and not checked.ok
    assert checked.problems == [
        "rules[0].module: must be a Zoho module API name such as Contacts"]
    with pytest.raises(MappingDocumentError) as caught:
        checked.raise_for_problems()
    assert caught.value.problems == checked.problems

