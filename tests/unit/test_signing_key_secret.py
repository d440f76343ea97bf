"""The signing keys read from a source's secret: one key, or several during a rotation."""

import pytest

from chalicelib.ingest.signatures import signing_keys


@pytest.mark.parametrize("secret, keys", [
    ("whsec_abc", [b"whsec_abc"]),
    ("  whsec_abc\n", [b"whsec_abc"]),
    ("clé", ["clé".encode()]),
    ('{"secrets": ["new", " old\\n"]}', [b"new", b"old"]),
    (' {"secrets": ["only"]} ', [b"only"]),
    ('{"secrets": ["n\u00e9"]}', ["né".encode()]),
    ("{not json", [b"{not json"]),
    ("{", [b"{"]),
    ("[1, 2]", [b"[1, 2]"]),
])
def test_a_secret_gives_its_keys_in_order_without_surrounding_spaces(secret, keys):
    assert signing_keys(secret) == keys


@pytest.mark.parametrize("secret", [
    '{"secrets": []}', '{"secrets": "one"}', '{"secrets": ["new", ""]}',
    '{"secrets": ["new", "  "]}', '{"secrets": ["new", 3]}', '{"keys": ["new"]}', "{}",
    '{"secrets": null}',
])
def test_a_json_secret_of_another_shape_is_refused_with_the_shape_it_needs(secret):
    with pytest.raises(ValueError) as caught:
        signing_keys(secret)
    assert str(caught.value) == 'a signing secret in JSON must be {"secrets": ["newest", "older"]}'


@pytest.mark.parametrize("secret", ["", "   ", "\n\t"])
def test_an_empty_secret_is_refused(secret):
    with pytest.raises(ValueError) as caught:
        signing_keys(secret)
    assert str(caught.value) == "the signing secret is empty"
