import json

import pytest

from chalicelib.errors import PermanentDeliveryError, RetryableDeliveryError
from chalicelib.stores.secrets import InMemorySecretStore
from chalicelib.zoho.tokens import TokenProvider, accounts_url, parse_token_response

NOW = 1_764_331_200.0
SECRET_ID = "zwa/connection/default"


class FakeResponse:
    def __init__(self, status, body):
        self.status_code = status
        self._body = body

    def json(self):
        return self._body


class FakeSession:
    """Answers token requests from a list; records the forms posted."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.posts = []

    def post(self, url, data, timeout):
        self.posts.append((url, data))
        return FakeResponse(*self.answers.pop(0))


def connection(**extra):
    return {"client_id": "c", "client_secret": "s", "refresh_token": "r",
            "accounts_url": "https://accounts.zoho.eu", **extra}


def grant(token="1000.new", expires_in=3600):
    return (200, {"access_token": token, "api_domain": "https://www.zohoapis.eu",
                  "token_type": "Bearer", "expires_in": expires_in})


def test_an_error_with_http_200_is_still_an_error():
    with pytest.raises(PermanentDeliveryError) as caught:
        parse_token_response(200, {"error": "invalid_code"}, NOW)
    assert caught.value.failure.code == "TOKEN_INVALID_CODE"


def test_the_throttle_answer_is_retryable():
    body = {"error_description": "You have made too many requests continuously.",
            "error": "Access Denied", "status": "failure"}
    with pytest.raises(RetryableDeliveryError) as caught:
        parse_token_response(400, body, NOW)
    assert caught.value.failure.code == "TOKEN_THROTTLED"


def test_a_token_answer_without_api_domain_is_not_trusted():
    with pytest.raises(RetryableDeliveryError):
        parse_token_response(200, {"access_token": "x"}, NOW)


def test_data_centre_gives_the_accounts_server():
    assert accounts_url({"dc": "ca"}) == "https://accounts.zohocloud.ca"
    assert accounts_url({"dc": "eu"}) == "https://accounts.zoho.eu"


def test_a_cold_worker_reuses_the_token_cached_in_the_secret():
    cached = connection(access_token="1000.cached", api_domain="https://www.zohoapis.eu",
                        expires_at=NOW + 3000)
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(cached)})
    session = FakeSession([])
    token = TokenProvider(secrets, session, SECRET_ID, clock=lambda: NOW).token()
    assert token.value == "1000.cached"
    assert session.posts == []


def test_a_token_with_under_five_minutes_left_is_refreshed_and_written_back():
    cached = connection(access_token="1000.old", api_domain="https://x", expires_at=NOW + 200)
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(cached)})
    session = FakeSession([grant()])
    token = TokenProvider(secrets, session, SECRET_ID, clock=lambda: NOW).token()
    assert token.value == "1000.new"
    assert token.api_domain == "https://www.zohoapis.eu"
    assert session.posts[0][0] == "https://accounts.zoho.eu/oauth/v2/token"
    assert session.posts[0][1]["grant_type"] == "refresh_token"
    stored = json.loads(secrets.values[SECRET_ID])
    assert stored["access_token"] == "1000.new"
    assert stored["refresh_token"] == "r"
    assert stored["expires_at"] == NOW + 3600


def test_a_warm_worker_does_not_read_the_secret_again():
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(connection())})
    provider = TokenProvider(secrets, FakeSession([grant()]), SECRET_ID, clock=lambda: NOW)
    provider.token()
    reads = secrets.reads
    provider.token()
    assert secrets.reads == reads


def test_after_a_rejection_a_token_another_worker_stored_is_used():
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(connection())})
    provider = TokenProvider(secrets, FakeSession([grant("1000.first")]), SECRET_ID,
                             clock=lambda: NOW)
    rejected = provider.token()
    other = connection(access_token="1000.other", api_domain="https://www.zohoapis.eu",
                       expires_at=NOW + 3600)
    secrets.values[SECRET_ID] = json.dumps(other)
    assert provider.refresh(rejected).value == "1000.other"


def test_a_missing_connection_is_a_permanent_error_an_operator_can_fix():
    provider = TokenProvider(InMemorySecretStore(), FakeSession([]), SECRET_ID, clock=lambda: NOW)
    with pytest.raises(PermanentDeliveryError, match="zwa connection set"):
        provider.token()
