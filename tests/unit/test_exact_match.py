"""Which records a search found hold the searched value itself, field type by field type."""

import pytest

from chalicelib.zoho.search import exact_matches, holds_exactly


@pytest.mark.parametrize("stored, wanted, holds", [
    (None, "", False),
    (None, "None", False),
    (["a"], "a", False),
    ([], "[]", False),
    ({"id": "123", "name": "Ada"}, " 123 ", True),
    ({"id": 123}, "123", True),
    ({"id": "123"}, "Ada", False),
    ({"name": "Ada"}, "", True),
    ({"name": "Ada"}, "Ada", False),
    (True, " TRUE ", True),
    (True, "false", False),
    (False, "False", True),
    (False, "true", False),
    (True, "1", False),
    (0, "0", True),
    (5, "5.0", True),
    (5, " 5 ", True),
    (5.5, "5.5", True),
    (5, "6", False),
    (5, "five", False),
    (float("inf"), "inf", False),
    (float("nan"), "nan", False),
    ("ABC", "ABC Inc.", False),
    ("ABC Inc.", "ABC", False),
    (" Ada@Example.com ", "ada@example.COM", True),
    ("Straße", "STRASSE", True),
    ("a", " a\t", True),
    ("ab", "a", False),
])
def test_a_field_holds_exactly_the_searched_value(stored, wanted, holds):
    assert holds_exactly(stored, wanted) is holds


def test_exact_matches_are_the_ids_once_each_in_zohos_order():
    records = [{"id": "3", "Email": "a@x.io"}, {"id": 1, "Email": "A@X.IO "},
               {"Email": "a@x.io"}, {"id": "3", "Email": "a@x.io"},
               {"id": "4", "Email": "a@x.io.com"}, {"id": "5"}]
    assert exact_matches(records, "Email", "a@x.io") == ["3", "1"]
    assert exact_matches([], "Email", "a@x.io") == []
