"""Queue message bodies: compact JSON that SQS accepts whatever the payload holds."""

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.stores.queues import MAX_MESSAGE_BYTES, MessageTooLargeError, encode_message

# What SQS accepts in a message body (SendMessage, MessageBody).
SQS_CHARACTERS = re.compile(
    "^[\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")


def test_code_points_sqs_refuses_are_escaped_and_decode_to_the_same_value():
    body = {"body": {"note": "a\ufffeb\uffffc", "ok": "\ufffd é \U0001f600", "lone": "\ud800"}}
    text = encode_message(body)
    assert SQS_CHARACTERS.match(text)
    assert "\\ufffe" in text and "\\uffff" in text
    assert "é" in text  # what SQS takes travels as itself
    assert json.loads(text) == body


# Any text a parsed body can hold (no surrogates: the parser refuses them), with
# the code points SQS refuses drawn often.
TEXT = st.lists(
    st.characters(codec="utf-8") | st.sampled_from("\ufffe\uffff"), max_size=8
).map("".join)


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20))
def test_any_json_value_becomes_a_body_sqs_accepts_and_decodes_to_itself(value):
    text = encode_message({"body": value})
    assert SQS_CHARACTERS.match(text)
    assert json.loads(text) == {"body": value}


def test_a_body_over_the_sqs_limit_is_refused_by_its_encoded_size():
    # Each U+FFFF takes 6 bytes once escaped, 3 before.
    with pytest.raises(MessageTooLargeError):
        encode_message({"body": "\uffff" * (MAX_MESSAGE_BYTES // 5)})
