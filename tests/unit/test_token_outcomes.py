"""Access tokens: the exact failures a delivery records, the secret as left, the operator's log."""

import json

import pytest
import requests

from chalicelib.errors import PermanentDeliveryError, RetryableDeliveryError, UnavailableError
from chalicelib.stores.ledger import InMemoryLedger
from chalicelib.stores.records import InMemoryRecordStore
from chalicelib.stores.secrets import InMemorySecretStore
from chalicelib.zoho.tokens import (
    AccessToken,
    TokenProvider,
    accounts_url,
    cached_token,
    parse_token_response,
    token_rejected,
    token_throttled,
)
from tests.fakes import Clock, FakeZohoSession, UnwritableSecretStore, token_grant, zoho_connection

NOW = 1_764_331_200.0
SECRET_ID = "zwa/connection/eu-org"
LEASE = f"token#{SECRET_ID}"
THROTTLE_MARK = f"token-throttle#{SECRET_ID}"


def secrets_with(**extra):
    return InMemorySecretStore({SECRET_ID: json.dumps(zoho_connection(**extra))})


def stored(secrets):
    return json.loads(secrets.values[SECRET_ID])


def leases():
    return InMemoryRecordStore(InMemoryLedger())


class DownLeases(InMemoryRecordStore):
    """Leases whose table answers nothing but the lease itself, as when DynamoDB throttles."""

    def __init__(self):
        super().__init__(InMemoryLedger())

    def release_lease(self, name, owner):
        raise UnavailableError("releasing a lease failed")

    def lease_until(self, name, now):
        raise UnavailableError("reading a lease failed")

    def hold_lease(self, name, owner, *, until):
        raise UnavailableError("writing a lease failed")


def said(lines, *keys):
    """Each line's level and message, with the given keys when present."""
    return [(line["level"], line["message"], {k: line[k] for k in keys if k in line})
            for line in lines]


# What a delivery records

@pytest.mark.parametrize("seconds_left, minutes, retry_after", [
    (300, 5, 300), (30, 1, 30), (90.4, 2, 90), (149, 2, 149), (151, 3, 151), (0.4, 1, 0),
])
def test_a_throttled_delivery_says_how_many_minutes_no_worker_asks(
        seconds_left, minutes, retry_after):
    failure = token_throttled(seconds_left, 400)
    assert (failure.code, failure.http_status, failure.details) == (
        "TOKEN_THROTTLED", 400, {"retry_after_seconds": retry_after})
    assert failure.message == (
        "Zoho's token endpoint refused: too many tokens made recently; no worker of this "
        f"connection asks again for {minutes} minutes")


def test_a_throttle_seen_without_an_answer_has_no_http_status():
    assert token_throttled(60).http_status is None


def test_a_rejected_token_says_the_cool_down_in_minutes_and_keeps_zohos_code():
    failure = token_rejected(401, "INVALID_TOKEN")
    assert (failure.code, failure.http_status, failure.details) == (
        "TOKEN_REJECTED", 401, {"zoho_code": "INVALID_TOKEN"})
    assert failure.message == ("Zoho refused an access token made just now; no new token is "
                               "made for 5 minutes")
    assert (token_rejected().http_status, token_rejected().details) == (None, {})
    assert token_rejected(401, "").details == {}


def test_the_token_endpoints_refusals_say_exactly_what_happened():
    with pytest.raises(RetryableDeliveryError) as throttled:
        parse_token_response(400, {"error": "Access Denied"}, NOW, "eu-org")
    assert (throttled.value.failure.code, throttled.value.failure.message) == (
        "TOKEN_THROTTLED", "Zoho's token endpoint refused: too many tokens made recently")
    with pytest.raises(PermanentDeliveryError) as refused:
        parse_token_response(200, {"error": "invalid_grant"}, NOW)
    assert refused.value.failure.message == (
        "Zoho refused the credentials of the connection (invalid_grant); update them with "
        "'zwa connection set'")
    with pytest.raises(RetryableDeliveryError) as odd:
        parse_token_response(503, {"error": "invalid_code "}, NOW, "eu-org")
    assert (odd.value.failure.code, odd.value.failure.message, odd.value.failure.http_status) == (
        "TOKEN_RESPONSE_INVALID", "the token endpoint answered HTTP 503 without an access token",
        503)
    with pytest.raises(RetryableDeliveryError) as no_domain:
        parse_token_response(200, {"access_token": "1000.x"}, NOW)
    assert (no_domain.value.failure.message, no_domain.value.failure.http_status) == (
        "the token answer has no api_domain", None)


def test_a_token_answer_keeps_the_api_domain_without_its_trailing_slash():
    token = parse_token_response(
        200, {"access_token": "1000.x", "api_domain": "https://www.zohoapis.eu/",
              "expires_in": 86400}, NOW)
    assert token == AccessToken("1000.x", "https://www.zohoapis.eu", NOW + 86400)
    longer = parse_token_response(
        200, {"access_token": "1000.x", "api_domain": "https://z", "expires_in": 86401}, NOW)
    assert longer.expires_at == NOW + 3600
    tiny = parse_token_response(
        200, {"access_token": "1000.x", "api_domain": "https://z", "expires_in": 0.5}, NOW)
    assert tiny.expires_at == NOW + 0.5


def test_a_token_is_fresh_only_with_more_than_five_minutes_left():
    token = AccessToken("1000.x", "https://z", NOW + 300)
    assert not token.fresh(NOW)
    assert token.fresh(NOW - 0.5)


def test_a_cached_token_needs_all_three_fields_and_a_numeric_expiry():
    assert cached_token(zoho_connection(access_token="a", api_domain="https://z/",
                                   expires_at="12")) == AccessToken("a", "https://z", 12.0)
    assert cached_token(zoho_connection(access_token="a", api_domain="https://z")) is None
    assert cached_token(zoho_connection(api_domain="https://z", expires_at=1)) is None
    assert cached_token(zoho_connection(access_token="a", expires_at=1)) is None
    unreadable = zoho_connection(access_token="a", api_domain="z", expires_at="soon")
    assert cached_token(unreadable) is None
    assert cached_token(zoho_connection(access_token="a", api_domain="z", expires_at=None)) is None


def test_an_unknown_data_centre_is_named():
    with pytest.raises(PermanentDeliveryError) as caught:
        accounts_url({"dc": "Mars", "accounts_url": ""})
    assert caught.value.failure.message == "unknown Zoho data centre 'mars'"
    assert accounts_url({"accounts_url": "https://accounts.zoho.jp//"}) == (
        "https://accounts.zoho.jp")


def test_a_missing_or_incomplete_connection_names_the_secret_and_the_fix():
    with pytest.raises(PermanentDeliveryError) as missing:
        TokenProvider(InMemorySecretStore(), FakeZohoSession(), SECRET_ID).token()
    assert (missing.value.failure.code, missing.value.failure.message) == (
        "CONNECTION_NOT_FOUND", f"the connection secret {SECRET_ID} does not exist; create it "
        "with 'zwa connection set'")
    for text in ("not json", json.dumps(zoho_connection(refresh_token="")), json.dumps(["x"])):
        secrets = InMemorySecretStore({SECRET_ID: text})
        with pytest.raises(PermanentDeliveryError) as incomplete:
            TokenProvider(secrets, FakeZohoSession(), SECRET_ID).token()
        assert (incomplete.value.failure.code, incomplete.value.failure.message) == (
            "CONNECTION_INVALID", f"the connection secret {SECRET_ID} needs client_id, "
            "client_secret and refresh_token")


def test_a_token_request_goes_to_the_data_centres_server_with_a_ten_second_timeout():
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(
        {"client_id": "c", "client_secret": "s", "refresh_token": "r", "dc": "au"})})
    session = FakeZohoSession([token_grant("1000.au")])
    assert TokenProvider(secrets, session, SECRET_ID, clock=Clock(NOW)).token().value == "1000.au"
    assert session.posts == [{
        "url": "https://accounts.zoho.com.au/oauth/v2/token", "timeout": 10.0,
        "data": {"grant_type": "refresh_token", "client_id": "c", "client_secret": "s",
                 "refresh_token": "r"}}]


def test_no_answer_from_the_token_endpoint_names_the_error_type_only():
    session = FakeZohoSession([requests.ConnectTimeout("secret-ish detail")])
    with pytest.raises(RetryableDeliveryError) as caught:
        TokenProvider(secrets_with(), session, SECRET_ID, clock=Clock(NOW)).token()
    assert (caught.value.failure.code, caught.value.failure.message) == (
        "TOKEN_NETWORK_ERROR", "no answer from Zoho's token endpoint (ConnectTimeout)")


# The secret as a refresh leaves it

def test_the_new_token_is_stored_beside_the_connection_as_it_is_now():
    secrets = secrets_with(access_token="1000.old", api_domain="https://old", expires_at=NOW,
                           note="kept")
    session = FakeZohoSession([token_grant("1000.new", 1800)])
    tokens = TokenProvider(secrets, session, SECRET_ID, clock=Clock(NOW))
    token = tokens.token()
    assert stored(secrets) == zoho_connection(access_token="1000.new",
                                         api_domain="https://www.zohoapis.eu",
                                         expires_at=NOW + 1800, note="kept")
    assert tokens.made_here(token)
    assert not tokens.made_here(AccessToken("1000.old", "https://old", NOW + 3600))


@pytest.mark.parametrize("changed", [
    {"client_id": "c2"}, {"client_secret": "s2"}, {"refresh_token": "r2"},
    {"accounts_url": "https://accounts.zoho.in"}, {"dc": "in"},
])
def test_a_token_made_with_credentials_changed_meanwhile_is_not_stored(changed, logs):
    secrets = secrets_with()
    session = FakeZohoSession([token_grant("1000.new")])
    session.on_post = lambda: secrets.put(SECRET_ID, json.dumps(zoho_connection(**changed)))
    tokens = TokenProvider(secrets, session, SECRET_ID, clock=Clock(NOW))
    assert tokens.token().value == "1000.new"  # used here all the same
    assert stored(secrets) == zoho_connection(**changed)
    assert said(logs(), "secret_id") == [
        ("INFO", "the connection changed during a refresh; the new token is not stored",
         {"secret_id": SECRET_ID})]


def test_a_connection_deleted_during_a_refresh_keeps_the_token_in_this_worker(logs):
    secrets = secrets_with()
    session = FakeZohoSession([token_grant("1000.new")])
    session.on_post = lambda: secrets.values.clear()
    tokens = TokenProvider(secrets, session, SECRET_ID, clock=Clock(NOW))
    assert tokens.token().value == "1000.new"
    assert secrets.values == {}
    assert said(logs(), "secret_id", "error") == [
        ("WARNING", "could not store the new access token; this worker keeps it",
         {"secret_id": SECRET_ID, "error": "PermanentDeliveryError"})]


def test_a_failed_write_back_is_logged_without_the_token(logs):
    secrets = UnwritableSecretStore({SECRET_ID: json.dumps(zoho_connection())})
    tokens = TokenProvider(secrets, FakeZohoSession([token_grant("1000.new")]), SECRET_ID,
                           clock=Clock(NOW))
    assert tokens.token().value == "1000.new"
    lines = logs()
    assert said(lines, "secret_id", "error") == [
        ("WARNING", "could not store the new access token; this worker keeps it",
         {"secret_id": SECRET_ID, "error": "UnavailableError"})]
    assert "1000.new" not in json.dumps(lines)


# The cool-down and the throttle

def test_the_cool_down_lasts_exactly_five_minutes_and_is_logged(logs):
    clock = Clock(NOW)
    secrets = secrets_with()
    session = FakeZohoSession(default_token=token_grant("1000.again"))
    tokens = TokenProvider(secrets, session, SECRET_ID, clock=clock)
    first = tokens.token()
    tokens.refused()
    assert said(logs(), "secret_id", "cool_down_seconds") == [
        ("WARNING", "Zoho refused a fresh access token; no refresh for a while",
         {"secret_id": SECRET_ID, "cool_down_seconds": 300})]
    clock.now = NOW + 299.9
    with pytest.raises(RetryableDeliveryError) as caught:
        tokens.refresh(first)
    assert caught.value.failure.code == "TOKEN_REJECTED"
    assert len(session.posts) == 1
    clock.now = NOW + 300
    assert tokens.refresh(first).value == "1000.again"
    assert len(session.posts) == 2


def test_zohos_throttle_is_marked_for_all_workers_for_five_minutes_and_logged(logs):
    clock = Clock(NOW)
    table = leases()
    session = FakeZohoSession([(400, {"error": "Access Denied"})])
    tokens = TokenProvider(secrets_with(), session, SECRET_ID, clock=clock, leases=table)
    with pytest.raises(RetryableDeliveryError) as caught:
        tokens.token()
    failure = caught.value.failure
    assert (failure.code, failure.http_status, failure.details) == (
        "TOKEN_THROTTLED", 400, {"retry_after_seconds": 300})
    assert failure.message.endswith("asks again for 5 minutes")
    assert table.leases[THROTTLE_MARK] == ("zoho", NOW + 300)
    assert LEASE not in table.leases  # the refresh lease is given back
    assert said(logs(), "secret_id", "wait_seconds") == [
        ("WARNING", "Zoho throttles new tokens; no refresh for a while",
         {"secret_id": SECRET_ID, "wait_seconds": 300})]
    clock.now = NOW + 299
    with pytest.raises(RetryableDeliveryError) as again:
        tokens.token()
    assert again.value.failure.details == {"retry_after_seconds": 1}
    assert len(session.posts) == 1


def test_a_throttle_seen_here_holds_here_even_when_the_table_is_down(logs):
    clock = Clock(NOW)
    session = FakeZohoSession([(200, {"error": "Access Denied"})],
                              default_token=token_grant("1000.later"))
    tokens = TokenProvider(secrets_with(), session, SECRET_ID, clock=clock,
                           leases=DownLeases())
    with pytest.raises(RetryableDeliveryError) as caught:
        tokens.token()
    assert caught.value.failure.http_status == 200
    assert said(logs()) == [
        ("WARNING", "could not share the token throttle with the other workers", {}),
        ("WARNING", "Zoho throttles new tokens; no refresh for a while", {}),
        ("WARNING", "could not release the token lease; it ends on its own", {}),
    ]
    clock.now = NOW + 120
    with pytest.raises(RetryableDeliveryError) as waited:
        tokens.token()
    assert waited.value.failure.details == {"retry_after_seconds": 180}
    clock.now = NOW + 300
    assert tokens.token().value == "1000.later"


def test_a_lease_that_cannot_be_given_back_is_logged_and_the_token_used(logs):
    tokens = TokenProvider(secrets_with(), FakeZohoSession([token_grant("1000.new")]), SECRET_ID,
                           clock=Clock(NOW), leases=DownLeases())
    assert tokens.token().value == "1000.new"
    assert said(logs(), "secret_id") == [
        ("WARNING", "could not release the token lease; it ends on its own",
         {"secret_id": SECRET_ID})]


# One refresh for all workers

def test_the_refresh_lease_lasts_the_request_timeout_plus_five_seconds():
    table = leases()
    secrets = secrets_with()
    session = FakeZohoSession([token_grant("1000.new")])
    seen = []
    session.on_post = lambda: seen.append(table.leases[LEASE][1])
    TokenProvider(secrets, session, SECRET_ID, clock=Clock(NOW), leases=table, timeout=4.0).token()
    assert seen == [NOW + 9.0]
    assert session.posts[0]["timeout"] == 4.0
    assert LEASE not in table.leases


def test_a_waiting_worker_polls_every_quarter_second_until_the_lease_can_end():
    clock = Clock(NOW)
    table = leases()
    slept = []

    def wait(seconds):
        slept.append(seconds)
        clock.now += seconds
        table.hold_lease(LEASE, "stuck worker", until=clock.now + 60)

    table.hold_lease(LEASE, "stuck worker", until=NOW + 60)
    tokens = TokenProvider(secrets_with(), FakeZohoSession(), SECRET_ID, clock=clock,
                           leases=table, sleep=wait, timeout=1.0)
    with pytest.raises(RetryableDeliveryError) as caught:
        tokens.token()
    assert (caught.value.failure.code, caught.value.failure.message) == (
        "TOKEN_BUSY", "another worker's token refresh for the connection 'eu-org' did not "
        "finish in time; the delivery waits")
    # 6 s of lease and a last poll: it gives up at the first poll at or past 6.25 s.
    assert set(slept) == {0.25} and len(slept) == 25
    assert clock.now == NOW + 6.25


def test_a_waiting_worker_takes_the_lease_when_the_holder_gives_it_back():
    clock = Clock(NOW)
    table = leases()
    table.hold_lease(LEASE, "other", until=NOW + 60)

    def wait(seconds):
        clock.now += seconds
        table.release_lease(LEASE, "other")

    session = FakeZohoSession([token_grant("1000.mine")])
    tokens = TokenProvider(secrets_with(), session, SECRET_ID, clock=clock, leases=table,
                           sleep=wait, connection="named")
    assert tokens.token().value == "1000.mine"
    assert len(session.posts) == 1 and clock.now == NOW + 0.25


def test_a_waiting_worker_sees_the_throttle_another_worker_met():
    clock = Clock(NOW)
    table = leases()
    table.hold_lease(LEASE, "other", until=NOW + 60)

    def wait(seconds):
        clock.now += seconds
        table.hold_lease(THROTTLE_MARK, "zoho", until=NOW + 300)

    session = FakeZohoSession()
    tokens = TokenProvider(secrets_with(), session, SECRET_ID, clock=clock, leases=table,
                           sleep=wait)
    with pytest.raises(RetryableDeliveryError) as caught:
        tokens.token()
    assert (caught.value.failure.code, caught.value.failure.details) == (
        "TOKEN_THROTTLED", {"retry_after_seconds": 300})  # 299.75 s, rounded
    assert session.posts == []


def test_after_a_rejection_a_waiting_worker_does_not_take_the_rejected_token_back():
    clock = Clock(NOW)
    table = leases()
    rejected = AccessToken("1000.rejected", "https://www.zohoapis.eu", NOW + 3600)
    secrets = secrets_with(access_token="1000.rejected", api_domain="https://www.zohoapis.eu",
                           expires_at=NOW + 3600)
    table.hold_lease(LEASE, "other", until=NOW + 0.1)

    def wait(seconds):
        clock.now += seconds

    session = FakeZohoSession([token_grant("1000.replaced")])
    tokens = TokenProvider(secrets, session, SECRET_ID, clock=clock, leases=table, sleep=wait)
    assert tokens.refresh(rejected).value == "1000.replaced"
    assert len(session.posts) == 1
    assert stored(secrets)["access_token"] == "1000.replaced"


def test_the_lease_holder_does_not_take_the_rejected_token_back():
    table = leases()
    rejected = AccessToken("1000.rejected", "https://www.zohoapis.eu", NOW + 3600)

    class RejectedOnlyAfterFirstRead(InMemorySecretStore):
        """The secret shows the rejected token only on the read under the lease."""

        def get(self, secret_id, *, max_age=300, force=False):
            value = super().get(secret_id)
            self.values[SECRET_ID] = json.dumps(zoho_connection(
                access_token="1000.rejected", api_domain="https://www.zohoapis.eu",
                expires_at=NOW + 3600))
            return value

    secrets = RejectedOnlyAfterFirstRead({SECRET_ID: json.dumps(zoho_connection())})
    session = FakeZohoSession([token_grant("1000.replaced")])
    tokens = TokenProvider(secrets, session, SECRET_ID, clock=Clock(NOW), leases=table)
    assert tokens.refresh(rejected).value == "1000.replaced"
    assert len(session.posts) == 1


class CachingSecretStore(InMemorySecretStore):
    """A secret store that answers from its cache unless asked to read afresh."""

    def __init__(self, values):
        super().__init__(values)
        self.cache = dict(values)

    def get(self, secret_id, *, max_age=300, force=False):
        if not force and secret_id in self.cache:
            return self.cache[secret_id]
        return super().get(secret_id)


def test_the_connection_is_always_read_afresh_not_from_a_cache():
    secrets = CachingSecretStore({SECRET_ID: json.dumps(zoho_connection())})
    secrets.values[SECRET_ID] = json.dumps(zoho_connection(
        access_token="1000.stored", api_domain="https://www.zohoapis.eu", expires_at=NOW + 3600))
    session = FakeZohoSession()
    tokens = TokenProvider(secrets, session, SECRET_ID, clock=Clock(NOW))
    assert tokens.token().value == "1000.stored"
    assert session.posts == []


def test_a_token_another_worker_stored_after_a_rejection_is_kept_in_memory():
    secrets = secrets_with(access_token="1000.theirs", api_domain="https://www.zohoapis.eu",
                           expires_at=NOW + 3600)
    tokens = TokenProvider(secrets, FakeZohoSession(), SECRET_ID, clock=Clock(NOW))
    rejected = AccessToken("1000.mine", "https://www.zohoapis.eu", NOW + 3600)
    assert tokens.refresh(rejected).value == "1000.theirs"
    reads = secrets.reads
    assert tokens.token().value == "1000.theirs"
    assert secrets.reads == reads


def test_a_waiting_worker_uses_the_stored_token_at_its_first_poll():
    clock = Clock(NOW)
    table = leases()
    table.hold_lease(LEASE, "other", until=NOW + 15)
    secrets = secrets_with()

    def wait(seconds):
        clock.now += seconds
        secrets.put(SECRET_ID, json.dumps(zoho_connection(
            access_token="1000.theirs", api_domain="https://www.zohoapis.eu",
            expires_at=NOW + 3600)))

    tokens = TokenProvider(secrets, FakeZohoSession(), SECRET_ID, clock=clock, leases=table,
                           sleep=wait)
    assert tokens.token().value == "1000.theirs"
    assert clock.now == NOW + 0.25
    assert table.leases[LEASE] == ("other", NOW + 15)


def test_a_throttle_that_ends_here_is_checked_against_the_one_all_workers_share():
    clock = Clock(NOW)
    table = leases()
    session = FakeZohoSession([(200, {"error": "Access Denied"})],
                              default_token=token_grant("1000.later"))
    tokens = TokenProvider(secrets_with(), session, SECRET_ID, clock=clock, leases=table)
    with pytest.raises(RetryableDeliveryError):
        tokens.token()
    table.hold_lease(THROTTLE_MARK, "zoho", until=NOW + 400)  # another worker met it later
    clock.now = NOW + 300
    with pytest.raises(RetryableDeliveryError) as caught:
        tokens.token()
    assert caught.value.failure.details == {"retry_after_seconds": 100}
    assert len(session.posts) == 1
