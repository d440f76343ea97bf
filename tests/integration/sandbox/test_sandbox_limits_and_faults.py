"""API limits (concurrency, credits), injected faults and latency."""

from __future__ import annotations

import threading
import time

import pytest
import requests

INTERNAL_ERROR = {
    "code": "INTERNAL_ERROR",
    "details": {},
    "message": "Internal Server Error",
    "status": "error",
}


def fields_call(sandbox, **kwargs):
    return sandbox.crm("GET", "settings/fields", params={"module": "Leads"}, **kwargs)


# How long the sandbox holds each admitted call. Filling the cap may take as long as a loaded
# machine needs (the sandbox's own count says when it is full); only the calls over the cap must be
# answered within the hold, and whether they were is checked rather than assumed.
HOLD_SECONDS = 2.0
TIMER_SLACK_SECONDS = 0.1  # a timed wait may end a little early
ATTEMPTS = 3


def stats(sandbox):
    return sandbox.control("stats", method="GET")


def wait_until(condition, what, timeout=30.0):
    """Polls the sandbox's own counts instead of guessing how long a loaded machine needs."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def call_over_a_full_cap(sandbox, cap, extra):
    """Fills the cap with `cap` calls held by latency, then makes `extra` calls while it is full.

    Returns the held calls' statuses, the extra calls' answers and how many refusals the sandbox
    counted meanwhile. The extra answers count only if they all came back before the first held
    call could have left (it was sent HOLD_SECONDS earlier); when a stalled machine took longer,
    the measurement is made again, up to ATTEMPTS times.
    """
    headers = {"Authorization": f"Zoho-oauthtoken {sandbox.token}"}
    url = f"{sandbox.url}/crm/v8/settings/fields?module=Leads"

    def held_call(statuses: list[int]) -> None:
        statuses.append(requests.get(url, headers=headers, timeout=30).status_code)

    sandbox.control("latency", {"ms": HOLD_SECONDS * 1000})
    for _ in range(ATTEMPTS):
        held: list[int] = []
        threads = [threading.Thread(target=held_call, args=(held,)) for _ in range(cap)]
        first_sent = time.monotonic()
        for thread in threads:
            thread.start()
        wait_until(lambda: stats(sandbox)["in_flight"] >= cap, f"{cap} calls in flight")
        refusals_before = stats(sandbox)["concurrency_rejections"]
        extras = [requests.get(url, headers=headers, timeout=30) for _ in range(extra)]
        within_hold = time.monotonic() - first_sent < HOLD_SECONDS - TIMER_SLACK_SECONDS
        after = stats(sandbox)
        for thread in threads:
            thread.join()
        # More calls in flight than the cap is wrong however slow the machine: no second try.
        if within_hold or after["peak_in_flight"] > cap:
            return held, extras, after["concurrency_rejections"] - refusals_before
    pytest.fail(f"{ATTEMPTS} attempts could not keep the cap full for {HOLD_SECONDS} s")


def test_calls_over_the_concurrency_cap_are_refused_with_429(sandbox):
    assert sandbox.control("config", method="GET")["config"]["concurrency"] == 10
    held, extras, refusals = call_over_a_full_cap(sandbox, cap=10, extra=4)
    assert held == [200] * 10
    assert [answer.status_code for answer in extras] == [429] * 4
    refused = extras[0].json()
    assert refused["code"] == "TOO_MANY_REQUESTS"
    assert refused["status"] == "error"
    assert refused["details"]["limit_type"] == "concurrency"
    assert refusals == 4
    assert stats(sandbox)["peak_in_flight"] == 10


def test_a_lowered_concurrency_cap_applies_at_once(sandbox):
    sandbox.control("config", {"concurrency": 2})
    held, extras, refusals = call_over_a_full_cap(sandbox, cap=2, extra=2)
    assert held == [200, 200]
    assert [answer.status_code for answer in extras] == [429, 429]
    assert refusals == 2
    assert stats(sandbox)["peak_in_flight"] == 2


def test_calls_past_the_daily_credit_budget_get_429(sandbox):
    sandbox.control("config", {"daily_credits": 3})
    assert [fields_call(sandbox).status_code for _ in range(3)] == [200, 200, 200]
    refused = fields_call(sandbox)
    assert refused.status_code == 429
    assert refused.json()["code"] == "TOO_MANY_REQUESTS"
    assert refused.json()["details"]["limit_type"] == "api_credits"
    assert sandbox.control("stats", method="GET")["credits"] == {
        "used": 3, "limit": 3, "remaining": 0}


def test_a_fault_rate_of_one_makes_every_call_fail_like_zoho(sandbox):
    sandbox.control("faults", {"rates": {"500": 1.0}})
    answer = fields_call(sandbox)
    assert answer.status_code == 500
    assert answer.json() == INTERNAL_ERROR
    sandbox.control("faults", {"clear": True})
    assert fields_call(sandbox).status_code == 200


def test_fault_rates_inject_roughly_that_share_of_failures(sandbox):
    sandbox.control("faults", {"rates": {"500": 0.3, "429": 0.2}, "seed": 7})
    statuses = [fields_call(sandbox).status_code for _ in range(200)]
    assert 30 <= statuses.count(500) <= 90
    assert 15 <= statuses.count(429) <= 65
    assert statuses.count(200) >= 60


def test_a_fault_sequence_answers_exactly_those_statuses_then_normally(sandbox):
    sandbox.control("faults", {"sequence": [500, 429, "pass", 503]})
    answers = [fields_call(sandbox) for _ in range(5)]
    assert [a.status_code for a in answers] == [500, 429, 200, 503, 200]
    assert answers[1].json()["code"] == "TOO_MANY_REQUESTS"
    assert answers[3].headers["Content-Type"].startswith("text/html")


def test_faults_can_be_limited_to_a_method_and_a_path_prefix(sandbox):
    [record_id] = sandbox.seed("Contacts", {"Last_Name": "A"})
    sandbox.control("faults", {"rates": {"500": 1.0}, "methods": ["PUT"],
                               "path_prefix": "/crm/v8/Contacts"})
    assert sandbox.crm("GET", f"Contacts/{record_id}").status_code == 200
    assert fields_call(sandbox).status_code == 200
    assert sandbox.update("Contacts", record_id, {"Seats": 1}).status_code == 500
    assert sandbox.state("Contacts", record_id)["fields"]["Seats"] is None


def test_a_drop_fault_closes_the_connection_without_an_answer(sandbox):
    sandbox.control("faults", {"sequence": ["drop"]})
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sandbox.url}/crm/v8/settings/fields?module=Leads", timeout=5,
                     headers={"Authorization": f"Zoho-oauthtoken {sandbox.token}"})
    assert fields_call(sandbox).status_code == 200
    assert sandbox.control("stats", method="GET")["faults_injected"] == {"drop": 1}


def test_a_hang_fault_outlasts_the_client_timeout(sandbox):
    # A drop at the end of the hang would be a ConnectionError; the client gives up long before,
    # even on a stalled machine. The hang costs no test time: nothing waits for its end.
    sandbox.control("faults", {"sequence": ["hang"], "hang_seconds": 10})
    with pytest.raises(requests.ReadTimeout):
        requests.get(f"{sandbox.url}/crm/v8/settings/fields?module=Leads", timeout=0.3,
                     headers={"Authorization": f"Zoho-oauthtoken {sandbox.token}"})
    # The client may give up before a stalled sandbox has even read that call: the next call must
    # not be the one that takes the hang.
    wait_until(lambda: stats(sandbox)["faults_injected"] == {"hang": 1}, "the hang taken")
    assert fields_call(sandbox).status_code == 200


def test_hang_seconds_defaults_to_the_configured_value(sandbox):
    sandbox.control("config", {"hang_seconds": 0.5})
    rules = sandbox.control("faults", {"sequence": ["hang"]})["rules"]
    assert rules[0]["hang_seconds"] == 0.5


def test_faults_can_target_the_token_endpoint(sandbox):
    sandbox.token  # noqa: B018 - take a token before the token endpoint fails
    sandbox.control("faults", {"target": "oauth", "sequence": [500, "access_denied", "drop"]})
    assert fields_call(sandbox).status_code == 200  # a CRM call is not affected
    first = sandbox.grant()
    assert first.status_code == 500
    denied = sandbox.grant()
    assert denied.status_code == 200
    assert denied.json()["error"] == "Access Denied"
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{sandbox.url}/oauth/v2/token", timeout=5, data={})
    assert "access_token" in sandbox.grant().json()


def test_a_bad_fault_rule_is_refused(sandbox):
    for rule in ({"rates": {"500": 0.7, "429": 0.6}}, {"sequence": ["explode"]},
                 {"target": "moon"}, {"rates": {"200x": 0.1}}):
        answer = requests.post(f"{sandbox.url}/__sandbox/faults", json=rule, timeout=10)
        assert answer.status_code == 400
        assert answer.json()["error"]


def test_fixed_latency_delays_each_api_call_and_zero_turns_it_off(sandbox):
    sandbox.token  # noqa: B018 - take the token before latency applies
    sandbox.control("latency", {"ms": 300})
    started = time.monotonic()
    fields_call(sandbox)
    assert time.monotonic() - started >= 0.29
    sandbox.control("latency", {"ms": 0})
    assert sandbox.control("faults", method="GET") == {"rules": []}


def test_latency_may_be_a_range(sandbox):
    answer = sandbox.control("latency", {"min_ms": 100, "max_ms": 150})
    assert answer["latency"] == {"min_ms": 100, "max_ms": 150}
    started = time.monotonic()
    fields_call(sandbox)
    assert time.monotonic() - started >= 0.095
