"""Access tokens: the token endpoint's answers, the secret's cache, and the refresh budget."""

import json

import pytest
import requests

from chalicelib.errors import PermanentDeliveryError, RetryableDeliveryError, UnavailableError
from chalicelib.mapping.engine import PlannedUpdate
from chalicelib.observability import TOKEN_ERRORS, TOKEN_REFRESHES, flush_metrics
from chalicelib.stores.ledger import InMemoryLedger
from chalicelib.stores.records import InMemoryRecordStore
from chalicelib.stores.secrets import InMemorySecretStore
from chalicelib.zoho.client import ZohoClient
from chalicelib.zoho.tokens import (
    COOL_DOWN_SECONDS,
    THROTTLE_SECONDS,
    TokenProvider,
    accounts_url,
    parse_token_response,
)
from tests.fakes import (
    Clock,
    FakeResponse,
    FakeZohoSession,
    UnreadableSecretStore,
    UnwritableSecretStore,
    crm_request_error,
    crm_success,
    token_grant,
    zoho_connection,
)

NOW = 1_764_331_200.0
SECRET_ID = "zwa/connection/default"


def stored(secrets):
    return json.loads(secrets.values[SECRET_ID])


def provider(secrets, session, clock=None, **kwargs):
    return TokenProvider(secrets, session, SECRET_ID, clock=clock or (lambda: NOW), **kwargs)


def plan():
    return PlannedUpdate(rule="r", module="Contacts", record="5725767000000524157",
                         body={"data": [{"Email": "ada@example.com"}]})


def emf(capsys):
    flush_metrics()
    lines = [json.loads(text) for text in capsys.readouterr().out.splitlines() if text]
    return lines[-1] if lines else {}


# The token endpoint's answers (pure)

@pytest.mark.parametrize("error,code", [
    ("invalid_code", "TOKEN_INVALID_CODE"),
    ("invalid_client", "TOKEN_INVALID_CLIENT"),
    ("invalid_grant", "TOKEN_INVALID_GRANT"),
])
def test_refused_credentials_are_permanent_even_with_http_200(error, code):
    with pytest.raises(PermanentDeliveryError) as caught:
        parse_token_response(200, {"error": error}, NOW)
    assert caught.value.failure.code == code
    assert caught.value.failure.http_status == 200
    assert "zwa connection set" in caught.value.failure.message


def test_refused_credentials_name_the_connection_and_the_command_that_fixes_it():
    session = FakeZohoSession([(200, {"error": "invalid_client"})])
    secrets = InMemorySecretStore({"zwa/connection/eu-org": json.dumps(zoho_connection())})
    tokens = TokenProvider(secrets, session, "zwa/connection/eu-org", clock=lambda: NOW)
    with pytest.raises(PermanentDeliveryError) as caught:
        tokens.token()
    assert caught.value.failure.code == "TOKEN_INVALID_CLIENT"
    assert caught.value.failure.message == (
        "Zoho refused the credentials of the connection 'eu-org' (invalid_client); "
        "update them with 'zwa connection set eu-org'")


@pytest.mark.parametrize("description", [
    "You have made too many requests continuously. Please try again after some time.",
    "Token creation throttle limit reached. Please reuse the valid tokens you currently have.",
])
def test_the_throttle_answer_is_retryable(description):
    body = {"error_description": description, "error": "Access Denied", "status": "failure"}
    with pytest.raises(RetryableDeliveryError) as caught:
        parse_token_response(400, body, NOW)
    assert (caught.value.failure.code, caught.value.failure.http_status) == (
        "TOKEN_THROTTLED", 400)


@pytest.mark.parametrize("body", [{"error": "something_new"}, {}, None, ["access_token"],
                                  {"access_token": 12345, "api_domain": "https://x"}])
def test_an_answer_without_a_token_or_a_known_error_is_retryable(body):
    with pytest.raises(RetryableDeliveryError) as caught:
        parse_token_response(502, body, NOW)
    assert caught.value.failure.code == "TOKEN_RESPONSE_INVALID"
    assert caught.value.failure.http_status == 502


@pytest.mark.parametrize("domain", [None, "", 42])
def test_a_token_answer_without_api_domain_is_not_trusted(domain):
    body = {"access_token": "1000.x", "expires_in": 3600}
    if domain is not None:
        body["api_domain"] = domain
    with pytest.raises(RetryableDeliveryError) as caught:
        parse_token_response(200, body, NOW)
    assert caught.value.failure.code == "TOKEN_RESPONSE_INVALID"
    assert "api_domain" in caught.value.failure.message
    assert "1000.x" not in caught.value.failure.message


def test_the_token_lives_as_long_as_zoho_says():
    token = parse_token_response(200, token_grant("1000.x", 1800)[1], NOW)
    assert (token.value, token.api_domain, token.expires_at) == (
        "1000.x", "https://www.zohoapis.eu", NOW + 1800)
    assert parse_token_response(200, token_grant("1000.x", "1800")[1], NOW).expires_at == (
        NOW + 1800)


@pytest.mark.parametrize("expires_in", ["soon", None, float("nan"), float("inf"), -5, 0, True,
                                        3_600_000, [3600]])
def test_a_bad_expires_in_counts_as_zohos_usual_hour(expires_in):
    token = parse_token_response(200, token_grant("1000.x", expires_in)[1], NOW)
    assert token.expires_at == NOW + 3600


def test_the_older_answer_in_milliseconds_uses_expires_in_sec():
    body = {**token_grant("1000.x", 1_800_000)[1], "expires_in_sec": 1800}
    assert parse_token_response(200, body, NOW).expires_at == NOW + 1800


def test_data_centre_gives_the_accounts_server():
    assert accounts_url({"dc": "ca"}) == "https://accounts.zohocloud.ca"
    assert accounts_url({"dc": "EU"}) == "https://accounts.zoho.eu"
    assert accounts_url({}) == "https://accounts.zoho.com"
    assert accounts_url({"accounts_url": "https://accounts.zoho.in/", "dc": "eu"}) == (
        "https://accounts.zoho.in")


def test_an_unknown_data_centre_is_a_permanent_connection_error():
    with pytest.raises(PermanentDeliveryError) as caught:
        accounts_url({"dc": "mars"})
    assert caught.value.failure.code == "CONNECTION_INVALID"


# The connection secret and the cache

def test_a_cold_worker_reuses_the_token_cached_in_the_secret():
    cached = zoho_connection(access_token="1000.cached", api_domain="https://www.zohoapis.eu",
                        expires_at=NOW + 3000)
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(cached)})
    session = FakeZohoSession()
    token = provider(secrets, session).token()
    assert token.value == "1000.cached"
    assert session.posts == []


def test_a_token_with_under_five_minutes_left_is_refreshed_and_written_back():
    cached = zoho_connection(access_token="1000.old", api_domain="https://x", expires_at=NOW + 200)
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(cached)})
    session = FakeZohoSession([token_grant()])
    token = provider(secrets, session, timeout=4.0).token()
    assert token.value == "1000.new"
    assert token.api_domain == "https://www.zohoapis.eu"
    assert session.posts == [{
        "url": "https://accounts.zoho.eu/oauth/v2/token", "timeout": 4.0,
        "data": {"grant_type": "refresh_token", "client_id": "c", "client_secret": "s",
                 "refresh_token": "r"}}]
    assert stored(secrets) == zoho_connection(
        access_token="1000.new", api_domain="https://www.zohoapis.eu", expires_at=NOW + 3600)


def test_a_warm_worker_does_not_read_the_secret_again():
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(zoho_connection())})
    tokens = provider(secrets, FakeZohoSession([token_grant()]))
    tokens.token()
    reads = secrets.reads
    tokens.token()
    assert secrets.reads == reads


def test_after_a_rejection_a_token_another_worker_stored_is_used():
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(zoho_connection())})
    session = FakeZohoSession([token_grant("1000.first")])
    tokens = provider(secrets, session)
    rejected = tokens.token()
    other = zoho_connection(access_token="1000.other", api_domain="https://www.zohoapis.eu",
                       expires_at=NOW + 3600)
    secrets.values[SECRET_ID] = json.dumps(other)
    assert tokens.refresh(rejected).value == "1000.other"
    assert len(session.posts) == 1


def test_a_missing_connection_is_a_permanent_error_an_operator_can_fix():
    tokens = provider(InMemorySecretStore(), FakeZohoSession())
    with pytest.raises(PermanentDeliveryError, match="zwa connection set") as caught:
        tokens.token()
    assert caught.value.failure.code == "CONNECTION_NOT_FOUND"


@pytest.mark.parametrize("text", [
    json.dumps({"client_id": "c", "client_secret": "s"}),
    json.dumps({"client_id": "c", "client_secret": "", "refresh_token": "r"}),
    json.dumps(["c", "s", "r"]),
    "client_id=c",
])
def test_an_incomplete_connection_is_a_permanent_error_naming_what_it_needs(text):
    session = FakeZohoSession()
    tokens = provider(InMemorySecretStore({SECRET_ID: text}), session)
    with pytest.raises(PermanentDeliveryError) as caught:
        tokens.token()
    assert caught.value.failure.code == "CONNECTION_INVALID"
    assert "client_id, client_secret and refresh_token" in caught.value.failure.message
    assert session.posts == []


def test_an_unreadable_secret_store_is_an_aws_failure_not_a_delivery_verdict():
    with pytest.raises(UnavailableError):
        provider(UnreadableSecretStore(), FakeZohoSession()).token()


@pytest.mark.parametrize("error,kind", [
    (requests.ConnectionError("refused by 10.0.0.1"), "ConnectionError"),
    (requests.Timeout("read timed out"), "Timeout"),
])
def test_no_answer_from_the_token_endpoint_is_retryable(error, kind):
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(zoho_connection())})
    with pytest.raises(RetryableDeliveryError) as caught:
        provider(secrets, FakeZohoSession([error])).token()
    assert caught.value.failure.code == "TOKEN_NETWORK_ERROR"
    assert caught.value.failure.message == f"no answer from Zoho's token endpoint ({kind})"


def test_a_token_answer_that_is_not_json_is_retryable():
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(zoho_connection())})
    session = FakeZohoSession([FakeResponse(503, text="<html>Service Unavailable</html>")])
    with pytest.raises(RetryableDeliveryError) as caught:
        provider(secrets, session).token()
    assert (caught.value.failure.code, caught.value.failure.http_status) == (
        "TOKEN_RESPONSE_INVALID", 503)


# The refresh budget: Zoho allows 10 new tokens per refresh token per 10 minutes

def test_a_failed_write_back_keeps_the_token_so_five_deliveries_make_one_refresh():
    secrets = UnwritableSecretStore({SECRET_ID: json.dumps(zoho_connection())})
    session = FakeZohoSession([token_grant()], default_crm=crm_success())
    client = ZohoClient(session, provider(secrets, session))
    for _ in range(5):
        assert client.update_record(plan()).kind == "applied"
    assert len(session.posts) == 1
    assert [put["headers"]["Authorization"] for put in session.puts] == [
        "Zoho-oauthtoken 1000.new"] * 5


def test_twelve_deliveries_with_a_persistent_401_make_two_refreshes_in_the_cool_down():
    clock = Clock(NOW)
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(zoho_connection())})
    session = FakeZohoSession(default_token=token_grant(),
                              default_crm=crm_request_error(401, "INVALID_TOKEN"))
    client = ZohoClient(session, provider(secrets, session, clock))
    codes = []
    for _ in range(12):
        clock.now += 10
        with pytest.raises(RetryableDeliveryError) as caught:
            client.update_record(plan())
        codes.append(caught.value.failure.code)
    assert codes == ["TOKEN_REJECTED"] * 12
    assert len(session.posts) == 2
    clock.now += COOL_DOWN_SECONDS
    with pytest.raises(RetryableDeliveryError):
        client.update_record(plan())
    assert len(session.posts) == 3


def test_in_the_cool_down_a_token_another_worker_stored_is_still_used():
    clock = Clock(NOW)
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(zoho_connection())})
    session = FakeZohoSession(
        default_token=token_grant(),
        crm_answers=[crm_request_error(401, "INVALID_TOKEN")] * 3 + [crm_success()])
    client = ZohoClient(session, provider(secrets, session, clock))
    with pytest.raises(RetryableDeliveryError):
        client.update_record(plan())
    secrets.values[SECRET_ID] = json.dumps(zoho_connection(
        access_token="1000.other", api_domain="https://www.zohoapis.eu", expires_at=NOW + 3600))
    assert client.update_record(plan()).kind == "applied"
    assert session.puts[-1]["headers"]["Authorization"] == "Zoho-oauthtoken 1000.other"
    assert len(session.posts) == 2


def test_a_stored_token_refused_too_is_replaced_at_once_with_no_cool_down():
    # The secret holds a token another process made before Zoho revoked it (its 16th
    # live token pushes out the oldest): refused, it says nothing of a new one.
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(zoho_connection())})
    session = FakeZohoSession(
        [token_grant("1000.first"), token_grant("1000.second")],
        crm_answers=[crm_success()] + [crm_request_error(401, "INVALID_TOKEN")] * 2
        + [crm_success()] * 2)
    client = ZohoClient(session, provider(secrets, session))
    assert client.update_record(plan()).kind == "applied"
    secrets.values[SECRET_ID] = json.dumps(zoho_connection(
        access_token="1000.revoked", api_domain="https://www.zohoapis.eu",
        expires_at=NOW + 3600))
    assert client.update_record(plan()).kind == "applied"
    assert [put["headers"]["Authorization"].split()[-1] for put in session.puts] == [
        "1000.first", "1000.first", "1000.revoked", "1000.second"]
    assert client.update_record(plan()).kind == "applied"  # no cool-down began
    assert len(session.posts) == 2


def test_a_connection_set_during_a_refresh_is_not_overwritten():
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(zoho_connection())})
    session = FakeZohoSession([token_grant()])
    replaced = zoho_connection(client_id="c2", client_secret="s2", refresh_token="r2")

    def operator_sets_the_connection():
        secrets.values[SECRET_ID] = json.dumps(replaced)

    session.on_post = operator_sets_the_connection
    token = provider(secrets, session).token()
    assert token.value == "1000.new"
    assert stored(secrets) == replaced


def test_the_new_token_is_written_onto_the_connection_as_it_is_now():
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(zoho_connection())})
    session = FakeZohoSession([token_grant()])

    def someone_adds_a_note():
        secrets.values[SECRET_ID] = json.dumps(zoho_connection(note="rotated keys on Monday"))

    session.on_post = someone_adds_a_note
    provider(secrets, session).token()
    assert stored(secrets) == zoho_connection(
        note="rotated keys on Monday", access_token="1000.new",
        api_domain="https://www.zohoapis.eu", expires_at=NOW + 3600)


def test_refreshes_and_refused_refreshes_are_counted(capsys):
    flush_metrics()
    capsys.readouterr()
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(zoho_connection())})
    clock = Clock(NOW)
    session = FakeZohoSession([requests.ConnectionError(), (200, {"error": "Access Denied"}),
                               token_grant("1000.a", 60), token_grant("1000.b")])
    tokens = provider(secrets, session, clock)
    for _ in range(2):
        with pytest.raises(RetryableDeliveryError):
            tokens.token()
    clock.now += THROTTLE_SECONDS  # the throttle is waited out
    tokens.token()
    tokens.token()  # the first token had under five minutes: a second refresh
    metrics = emf(capsys)
    assert metrics[TOKEN_ERRORS] == [1.0, 1.0]
    assert metrics[TOKEN_REFRESHES] == [1.0, 1.0]


# One refresh for all workers: the lease and the throttle (in-memory leases)

def test_a_worker_waiting_on_another_workers_lease_uses_the_token_it_stores():
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(zoho_connection())})
    leases = InMemoryRecordStore(InMemoryLedger())
    clock = Clock(NOW)
    leases.take_lease(f"token#{SECRET_ID}", "another worker", until=NOW + 15, now=NOW)

    def other_worker_stores_a_token(seconds):
        clock.now += seconds
        secrets.put(SECRET_ID, json.dumps(zoho_connection(
            access_token="1000.theirs", api_domain="https://www.zohoapis.eu",
            expires_at=NOW + 3600)))

    session = FakeZohoSession()  # no answer: this worker must not call Zoho
    tokens = provider(secrets, session, clock, leases=leases, sleep=other_worker_stores_a_token)
    assert tokens.token().value == "1000.theirs"
    assert session.posts == []


def test_the_lease_holder_reads_the_secret_again_before_it_refreshes():
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(zoho_connection())})
    leases = InMemoryRecordStore(InMemoryLedger())

    class StoredMeanwhile(InMemorySecretStore):
        """The secret as another worker leaves it between this worker's two reads."""

        def __init__(self):
            super().__init__(secrets.values)

        def get(self, secret_id, *, max_age=300, force=False):
            value = super().get(secret_id)
            self.values[SECRET_ID] = json.dumps(zoho_connection(
                access_token="1000.stored", api_domain="https://www.zohoapis.eu",
                expires_at=NOW + 3600))
            return value

    session = FakeZohoSession()
    tokens = provider(StoredMeanwhile(), session, leases=leases)
    assert tokens.token().value == "1000.stored"
    assert session.posts == []
    assert leases.lease_until(f"token#{SECRET_ID}", NOW) is None  # given back


def test_a_lease_whose_holder_died_is_taken_over_once_it_ends():
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(zoho_connection())})
    leases = InMemoryRecordStore(InMemoryLedger())
    clock = Clock(NOW)
    leases.take_lease(f"token#{SECRET_ID}", "a dead worker", until=NOW + 3, now=NOW)

    def wait(seconds):
        clock.now += seconds

    session = FakeZohoSession([token_grant("1000.mine")])
    tokens = provider(secrets, session, clock, leases=leases, sleep=wait)
    assert tokens.token().value == "1000.mine"
    assert len(session.posts) == 1
    assert clock.now > NOW + 3


def test_zohos_throttle_makes_every_worker_of_the_connection_wait_minutes():
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(zoho_connection())})
    leases = InMemoryRecordStore(InMemoryLedger())
    clock = Clock(NOW)
    first = provider(secrets, FakeZohoSession([(200, {"error": "Access Denied"})]), clock,
                     leases=leases)
    with pytest.raises(RetryableDeliveryError) as caught:
        first.token()
    assert caught.value.failure.code == "TOKEN_THROTTLED"
    assert caught.value.failure.details == {"retry_after_seconds": THROTTLE_SECONDS}
    clock.now += 60
    other = FakeZohoSession()  # a cold worker of the same connection asks nothing of Zoho
    with pytest.raises(RetryableDeliveryError) as waited:
        provider(secrets, other, clock, leases=leases).token()
    assert waited.value.failure.code == "TOKEN_THROTTLED"
    assert waited.value.failure.details == {"retry_after_seconds": THROTTLE_SECONDS - 60}
    assert other.posts == []
    clock.now = NOW + THROTTLE_SECONDS + 1
    later = FakeZohoSession([token_grant("1000.after")])
    assert provider(secrets, later, clock, leases=leases).token().value == "1000.after"


def test_a_refresh_that_never_finishes_elsewhere_makes_the_delivery_wait():
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(zoho_connection())})
    leases = InMemoryRecordStore(InMemoryLedger())
    clock = Clock(NOW)

    def wait(seconds):
        clock.now += seconds
        # The other worker keeps renewing its lease and never stores a token.
        leases.hold_lease(f"token#{SECRET_ID}", "stuck worker", until=clock.now + 15)

    wait(0)
    tokens = provider(secrets, FakeZohoSession(), clock, leases=leases, sleep=wait)
    with pytest.raises(RetryableDeliveryError) as caught:
        tokens.token()
    assert caught.value.failure.code == "TOKEN_BUSY"
