"""`GET /crm/v8/{module}/search`: criteria, email, phone and word, 204 when nothing matches."""

from __future__ import annotations

import pytest


@pytest.fixture
def people(sandbox):
    return sandbox.seed(
        "Contacts",
        {"Last_Name": "Burns", "First_Name": "Mary", "Email": "mary@acme.example",
         "Phone": "+1 (555) 010-0001", "Customer_Tier": "Gold", "Seats": 5},
        {"Last_Name": "Burns, B (Jr)", "First_Name": "Bob", "Email": "bob@acme.example",
         "Customer_Tier": "Silver", "Seats": 10},
        {"Last_Name": "Ng", "First_Name": "Marco", "Email": "marco@other.example",
         "Phone": "555-010-0003", "Customer_Tier": "Gold", "Stripe_Customer_Id": "cus_9"},
    )


def search(sandbox, **params):
    return sandbox.crm("GET", "Contacts/search", params=params)


def ids(answer):
    return [record["id"] for record in answer.json()["data"]]


def test_equals_on_text_matches_like_contains(sandbox, people):
    answer = search(sandbox, criteria="(Last_Name:equals:Burns)")
    assert answer.status_code == 200
    assert ids(answer) == people[:2]


def test_starts_with_matches_a_prefix(sandbox, people):
    assert ids(search(sandbox, criteria="(First_Name:starts_with:Mar)")) == [people[0], people[2]]


def test_and_or_combine_criteria(sandbox, people):
    both = search(sandbox, criteria="((Last_Name:equals:Burns)and(Customer_Tier:equals:Gold))")
    assert ids(both) == [people[0]]
    either = search(sandbox, criteria="((Seats:equals:10)or(Stripe_Customer_Id:equals:cus_9))")
    assert ids(either) == [people[1], people[2]]


def test_escaped_parentheses_and_commas_are_part_of_the_value(sandbox, people):
    answer = search(sandbox, criteria=r"(Last_Name:equals:Burns\, B \(Jr\))")
    assert ids(answer) == [people[1]]


def test_picklist_equals_is_exact(sandbox, people):
    assert ids(search(sandbox, criteria="(Customer_Tier:equals:Gold)")) == [people[0], people[2]]
    assert search(sandbox, criteria="(Customer_Tier:equals:Gol)").status_code == 204


def test_email_phone_and_word_searches(sandbox, people):
    assert ids(search(sandbox, email="bob@acme.example")) == [people[1]]
    assert ids(search(sandbox, phone="5550100003")) == [people[2]]
    assert ids(search(sandbox, word="acme")) == people[:2]


def test_criteria_wins_over_email_phone_and_word(sandbox, people):
    answer = search(sandbox, criteria="(Last_Name:equals:Ng)", email="bob@acme.example",
                    word="Burns")
    assert ids(answer) == [people[2]]
    assert ids(search(sandbox, email="bob@acme.example", word="Ng")) == [people[1]]


def test_no_match_answers_204_with_an_empty_body(sandbox, people):
    answer = search(sandbox, criteria="(Email:equals:nobody@nowhere.example)")
    assert answer.status_code == 204
    assert answer.content == b""


def test_results_carry_paging_info(sandbox, people):
    answer = search(sandbox, word="example", per_page="2")
    assert answer.json()["info"] == {"count": 2, "more_records": True, "page": 1, "per_page": 2}
    last = search(sandbox, word="example", per_page="2", page="2")
    assert last.json()["info"] == {"count": 1, "more_records": False, "page": 2, "per_page": 2}


def test_a_malformed_criteria_or_unknown_field_is_invalid_query(sandbox, people):
    for criteria in ("(Last_Name:equals:Burns", "(Nope:equals:x)", "(Last_Name:like:x)"):
        answer = search(sandbox, criteria=criteria)
        assert answer.status_code == 400
        assert answer.json()["code"] == "INVALID_QUERY"


def test_a_search_without_criteria_email_phone_or_word_is_refused(sandbox):
    answer = search(sandbox)
    assert answer.status_code == 400
    assert answer.json()["code"] == "REQUIRED_PARAM_MISSING"
