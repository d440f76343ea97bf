"""The worker with a search locator, and the fields a rule left out, in the ledger."""

import json
import time

import pytest

ADA = "5725767000000524157"
MAPPING = {
    "source": "shop",
    "verify": {"scheme": "none"},
    "delivery_id": "id",
    "rules": [{
        "name": "customer", "module": "Contacts",
        "record": {"search": {"field": "Email", "value": "customer.email"}},
        "fields": {"First_Name": "customer.first_name", "Phone": "customer.phone",
                   "Mailing_City": "customer.city"},
    }],
}


@pytest.fixture
def shop(world):
    world.mappings.save(MAPPING, now=time.time())
    world.zoho.records[("Contacts", ADA)] = {"Email": "ada@example.com"}
    return world


def post(world, delivery_id, email="ada@example.com", **customer):
    body = {"id": delivery_id, "customer": {"email": email, "first_name": "Ada", **customer}}
    response = world.post("shop", json.dumps(body).encode(), sign=False)
    assert response.status_code == 202, response.body


def test_a_found_record_is_updated_and_the_ledger_names_its_id_and_the_fields_left_out(shop):
    post(shop, "o-1", city="London")
    assert shop.run_worker() == {"batchItemFailures": []}
    item = shop.ledger.get("shop", "o-1")
    assert item["status"] == "applied"
    outcome = item["rules"]["customer"]
    assert (outcome["outcome"], outcome["record_id"], outcome["omitted"]) == (
        "applied", ADA, ["Phone"])
    assert shop.zoho.records[("Contacts", ADA)]["Mailing_City"] == "London"


def test_a_rule_that_left_nothing_out_records_no_omitted_list(shop):
    post(shop, "o-2", city="London", phone="+44 20 7946 0958")
    shop.run_worker()
    assert "omitted" not in shop.ledger.get("shop", "o-2")["rules"]["customer"]


def test_a_miss_waits_at_least_the_base_delay_then_a_second_miss_fails_record_not_found(shop):
    post(shop, "o-3", email="nobody@example.com")
    assert shop.run_worker() == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    # Attempt 1 with a draw of 0.5 would wait 15 s; a miss waits the base, 30 s.
    assert shop.queue.delays == [("r0", 30)]
    item = shop.ledger.get("shop", "o-3")
    assert (item["status"], item["last_error"]["code"]) == ("queued", "RECORD_NOT_FOUND")
    assert item["rules"]["customer"]["outcome"] == "retrying"

    shop.run_worker(receive_count=2)
    item = shop.ledger.get("shop", "o-3")
    assert item["status"] == "failed"
    assert item["last_error"]["code"] == "RECORD_NOT_FOUND"
    assert item["last_error"]["api_name"] == "Email"
    assert "nobody@example.com" not in json.dumps(item)
    assert len(shop.zoho.searches) == 2 and shop.zoho.calls == []


def test_a_record_created_after_the_first_miss_is_found_on_the_retry(shop):
    post(shop, "o-4", email="grace@example.com")
    shop.run_worker()
    shop.zoho.records[("Contacts", "5725767000000600001")] = {"Email": "grace@example.com"}
    shop.run_worker(receive_count=2)
    item = shop.ledger.get("shop", "o-4")
    assert item["status"] == "applied"
    assert item["rules"]["customer"]["record_id"] == "5725767000000600001"
