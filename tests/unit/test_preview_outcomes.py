"""The preview's whole answer, as `zwa mapping preview --json` prints it, for each kind of rule."""

import hashlib
import json

from chalicelib.mapping.document import parse_mapping
from chalicelib.mapping.preview import preview_delivery, preview_payload
from chalicelib.zoho.fields import StaticFieldMetadata

API = "https://zoho.test"
JSON = {"Content-Type": "application/json"}
MASKED = "Zoho-oauthtoken ****"
DEALS = StaticFieldMetadata({"Deals": [
    {"api_name": "Ref", "data_type": "text", "external": True},
    {"api_name": "Amount", "data_type": "currency"},
    {"api_name": "Stage", "data_type": "picklist", "pick_list_values": [{"actual_value": "Won"}]},
    {"api_name": "Closed", "data_type": "date", "operation_type": {"api_update": False}},
    {"api_name": "Tags", "data_type": "multiselectpicklist",
     "pick_list_values": [{"actual_value": "a"}]},
]})


def deal_rule(**more):
    rule = {"name": "deal", "module": "Deals",
            "record": {"external": {"field": "Ref", "value": "ref"}},
            "fields": {"Amount": {"path": "amount", "type": "currency"}}}
    rule.update(more)
    return rule


def mapping(*rules, **more):
    return {"source": "shop", "delivery_id": "id", "rules": list(rules), **more}


def as_printed(preview):
    """The preview as `--json` prints it."""
    return json.loads(json.dumps(preview.to_dict()))


def body(**values):
    return json.dumps({"id": "e-1", "ref": "R 1", "amount": 5, **values}).encode()


def test_a_preview_with_metadata_lists_each_refusal_beside_the_exact_put():
    document = mapping(deal_rule(when="kind == 'deal'", fields={
        "Amount": {"path": "amount", "type": "currency"}, "Stage": "stage",
        "Closed": {"path": "closed", "type": "date"}, "Missing": "m"}),
        {"name": "ghost", "module": "Ghosts", "record": {"id": "zid"},
         "fields": {"Name": "stage"}}, version=7)
    preview = preview_payload(document, body(kind="deal", stage="Lost", closed="2026-01-01",
                                             m="x", zid="123"), JSON, DEALS, api_domain=API)
    error = {"rule": "deal", "value_type": "string"}
    assert as_printed(preview) == {
        "source": "shop", "version": 7, "delivery_id": "e-1", "checked_fields": True,
        "errors": [], "items": [], "ok": False,
        "rules": [
            {"rule": "deal", "module": "Deals", "locator": "external", "omitted": [],
             "requests": [{
                 "method": "PUT", "url": f"{API}/crm/v8/Deals/R%201",
                 "headers": {"Authorization": MASKED, "Content-Type": "application/json",
                             "X-EXTERNAL": "Deals.Ref"},
                 "body": {"data": [{"Amount": 5, "Stage": "Lost", "Closed": "2026-01-01",
                                    "Missing": "x"}]}}],
             "errors": [
                 {**error, "message": "Deals.Stage takes only its picklist's values: Won",
                  "field": "Stage", "path": "stage"},
                 {**error, "message": "Deals.Closed is read-only through Zoho's API",
                  "field": "Closed", "path": "closed"},
                 {**error, "message": "Deals has no field 'Missing'", "field": "Missing",
                  "path": "m"}]},
            {"rule": "ghost", "module": "Ghosts", "locator": "id", "omitted": [],
             "requests": [{"method": "PUT", "url": f"{API}/crm/v8/Ghosts/123",
                           "headers": {"Authorization": MASKED,
                                       "Content-Type": "application/json"},
                           "body": {"data": [{"Name": "Lost"}]}}],
             "errors": [{"message": "Zoho has no module 'Ghosts'", "rule": "ghost",
                         "field": None, "path": None, "value_type": None}]},
        ]}


def test_a_preview_that_fits_is_ok_and_lists_its_updates():
    preview = preview_payload(mapping(deal_rule()), body(), JSON, DEALS, api_domain=API)
    assert preview.ok and preview.to_dict()["ok"] is True
    assert [(r.method, r.url) for r in preview.updates] == [
        ("PUT", f"{API}/crm/v8/Deals/R%201")]


def test_without_metadata_nothing_is_judged_and_the_api_domain_is_a_placeholder():
    document = mapping(deal_rule(fields={"Nope": "amount"}))
    preview = preview_payload(document, body(), JSON)
    assert preview.ok and not preview.checked_fields
    (put,) = preview.updates
    assert put.url == "{api_domain}/crm/v8/Deals/R%201"


def test_a_search_locator_on_a_field_zoho_lacks_is_an_error_naming_the_value_path():
    document = mapping(deal_rule(record={"search": {"field": "Code", "value": "ref"}}))
    preview = preview_payload(document, body(), JSON, DEALS, api_domain=API)
    (rule,) = as_printed(preview)["rules"]
    assert rule["locator"] == "search"
    assert rule["requests"] == [
        {"method": "GET", "url": f"{API}/crm/v8/Deals/search?criteria=%28Code%3Aequals%3AR+1%29",
         "headers": {"Authorization": MASKED}, "body": None},
        {"method": "PUT", "url": f"{API}/crm/v8/Deals/{{id of the one record whose Code is "
         "this value}", "headers": {"Authorization": MASKED, "Content-Type": "application/json"},
         "body": {"data": [{"Amount": 5}]}}]
    assert rule["errors"] == [
        {"message": "Deals has no field 'Code' to find the record by", "rule": "deal",
         "field": "Code", "path": "ref", "value_type": None}]


def test_an_external_locator_on_a_field_zoho_lacks_is_an_error():
    document = mapping(deal_rule(record={"external": {"field": "Code", "value": "ref"}}))
    (rule,) = preview_payload(document, body(), JSON, DEALS).rules
    assert [(e.message, e.field, e.path) for e in rule.errors] == [
        ("Deals has no field 'Code' to find the record by", "Code", "ref")]


def test_appended_values_and_the_layout_are_sent_but_not_judged_as_fields():
    document = mapping(deal_rule(layout_id="777", fields={
        "Tags": {"path": "tags", "type": "multiselect", "append": True}}))
    preview = preview_payload(document, body(tags=["a"]), JSON, DEALS, api_domain=API)
    assert preview.ok
    assert preview.updates[0].body["data"] == [
        {"Tags": ["a"], "$append_values": {"Tags": True}, "Layout": {"id": "777"}}]


def test_a_missing_delivery_id_is_an_error_saying_the_api_would_answer_400():
    preview = preview_payload(mapping(deal_rule()), b'{"ref": "R", "amount": 1}', JSON)
    assert preview.delivery_id is None and not preview.ok
    assert [(e.message, e.path, e.rule) for e in preview.errors] == [
        ("the delivery id (id) is missing from the request; the api would answer 400", "id",
         None)]
    assert len(preview.updates) == 1


def test_without_a_delivery_id_expression_the_id_is_the_hash_of_the_raw_body():
    document = {"source": "shop", "rules": [deal_rule()]}
    raw = body()
    preview = preview_payload(document, raw, JSON)
    assert preview.delivery_id == hashlib.sha256(raw).hexdigest()
    assert preview.errors == ()


def test_a_when_that_cannot_be_evaluated_is_an_error_naming_its_rule():
    document = mapping(deal_rule(), deal_rule(name="second", when="starts_with(amount, 'x')"))
    preview = preview_payload(document, body(), JSON)
    assert preview.rules == ()
    (error,) = preview.errors
    assert (error.rule, error.path, error.field) == ("second", "starts_with(amount, 'x')", None)
    assert "starts_with" in error.message


def test_the_version_is_shown_only_when_it_is_a_whole_number():
    for version, shown in ((3, 3), (True, None), ("3", None), (2.0, None)):
        assert preview_payload(mapping(deal_rule(), version=version), body(), JSON).version == shown
    assert preview_payload(mapping(deal_rule()), body(), JSON).version is None


def test_a_compiled_document_previews_as_its_stored_form_does():
    stored = mapping(deal_rule(), version=4)
    compiled = parse_mapping(stored, version=4)
    assert preview_payload(compiled, body(), JSON, DEALS) == preview_payload(
        stored, body(), JSON, DEALS)


def test_header_names_are_read_whatever_their_case():
    document = {"source": "form", "delivery_id": "header:X-Event", "rules": [{
        "name": "r", "module": "Deals", "record": {"id": "zid"},
        "fields": {"Amount": "amount"}}]}
    preview = preview_payload(document, b"zid=12&amount=3",
                              {"CONTENT-TYPE": "application/x-www-form-urlencoded",
                               "x-event": "ev-9"})
    assert preview.delivery_id == "ev-9"
    assert preview.updates[0].body == {"data": [{"Amount": "3"}]}


def test_each_item_of_a_batch_previews_as_a_delivery_of_its_own():
    document = {"source": "hub", "each": "@", "delivery_id": "eventId", "version": 2,
                "rules": [{"name": "r", "module": "Deals", "record": {"id": "objectId"},
                           "fields": {"Amount": {"path": "amount", "type": "currency"},
                                      "Nope": "amount"}}]}
    raw = json.dumps([{"eventId": 1, "objectId": 11, "amount": 5},
                      {"objectId": 12, "amount": 6}]).encode()
    preview = preview_payload(document, raw, JSON, DEALS, api_domain=API)
    assert (preview.source, preview.version, preview.delivery_id) == ("hub", 2, None)
    assert preview.checked_fields
    assert [item.delivery_id for item in preview.items] == ["1", None]
    assert [item.version for item in preview.items] == [2, 2]
    assert [r.url for r in preview.updates] == [f"{API}/crm/v8/Deals/11",
                                                f"{API}/crm/v8/Deals/12"]
    assert [e.message for e in preview.errors] == [
        "the delivery id (eventId) is missing from the request; the api would answer 400"]
    assert [e.message for rule in preview.rules for e in rule.errors] == [
        "Deals has no field 'Nope'", "Deals has no field 'Nope'"]
    assert not preview.ok and not preview.items[0].ok and not preview.items[1].ok


def test_a_batch_without_metadata_is_not_checked():
    document = {"source": "hub", "each": "@", "delivery_id": "eventId",
                "rules": [{"name": "r", "module": "Deals", "record": {"id": "objectId"},
                           "fields": {"Amount": "amount"}}]}
    preview = preview_payload(document, b'[{"eventId": 1, "objectId": 11, "amount": 5}]', JSON)
    assert not preview.checked_fields and not preview.items[0].checked_fields
    assert preview.ok and preview.version is None


def test_a_rule_whose_value_does_not_fit_is_shown_with_its_error_alone():
    document = mapping(deal_rule(name="ghost", record={"id": "zid"}))
    preview = preview_payload(document, body(zid="not-an-id"), JSON, DEALS, api_domain=API)
    assert as_printed(preview)["rules"] == [
        {"rule": "ghost", "module": "Deals", "locator": "id", "requests": [], "omitted": [],
         "errors": [{"message": "rule 'ghost': record.id (zid) is not a Zoho record id",
                     "rule": "ghost", "field": "record.id", "path": "zid",
                     "value_type": "string"}]}]


class Exploding(dict):
    """A parsed body whose lookups fail the way a bug would, quoting a value."""

    def get(self, key, default=None):
        raise RuntimeError("ada@example.com")


def test_an_unforeseen_failure_is_shown_naming_rule_field_and_type_only():
    document = parse_mapping(mapping(deal_rule(record={"id": "data.zid"})))
    preview = preview_delivery(document, {"id": "e-1", "data": Exploding()}, {}, None)
    assert as_printed(preview)["rules"] == [
        {"rule": "deal", "module": "Deals", "locator": "id", "requests": [], "omitted": [],
         "errors": [{"message": "rule 'deal': RuntimeError while mapping record.id",
                     "rule": "deal", "field": "record.id", "path": None, "value_type": None}]}]
    assert "ada@example.com" not in json.dumps(as_printed(preview))


def test_a_delivery_previewed_without_its_raw_body_and_id_is_keyed_by_the_empty_bodys_hash():
    document = parse_mapping({"source": "shop", "rules": [deal_rule()]})
    preview = preview_delivery(document, {"ref": "R", "amount": 1}, {}, None)
    assert preview.delivery_id == hashlib.sha256(b"").hexdigest()


def test_each_item_of_a_batch_is_filtered_and_mapped_with_the_requests_headers():
    document = {"source": "hub", "each": "@", "delivery_id": "eventId", "rules": [{
        "name": "r", "module": "Deals", "when": "header:X-Deal",
        "record": {"id": "objectId"},
        "fields": {"Stage": "header:X-Stage", "Amount": "amount"}}]}
    raw = json.dumps([{"eventId": 1, "objectId": 11, "amount": 5}]).encode()
    preview = preview_payload(document, raw, {"X-Deal": "yes", "X-Stage": "Won", **JSON})
    assert [r.body for r in preview.updates] == [{"data": [{"Stage": "Won", "Amount": "5"}]}]
    other = preview_payload(document, raw, {"X-Stage": "Won", **JSON})
    assert other.rules == () and other.ok
