"""What an operator types: times, durations, secrets, connection documents, signing keys."""

from __future__ import annotations

import io
import json

import pytest

from chalicelib.stores.mappings import InMemoryMappingStore
from chalicelib.stores.secrets import InMemorySecretStore
from zwa.connections import check_accounts_url, connection_document
from zwa.inputs import iso_time, parse_time, read_secret
from zwa.webhook_secrets import store_signing_secret

NOW = 1_800_000_000.0


class Piped(io.StringIO):
    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize(("text", "seconds_back"), [
    ("15m", 900), ("6h", 21600), ("2d", 172800), ("1w", 604800), ("30s", 30), (" 2D ", 172800)])
def test_a_duration_is_counted_back_from_now(text, seconds_back):
    assert parse_time(text, NOW) == NOW - seconds_back


def test_an_iso_time_without_a_zone_is_utc_and_z_is_understood():
    assert parse_time("2027-01-15T08:00:00Z", NOW) == 1_800_000_000
    assert parse_time("2027-01-15T08:00:00", NOW) == 1_800_000_000
    assert parse_time("2027-01-15T09:00:00+01:00", NOW) == 1_800_000_000
    assert iso_time(parse_time("2027-01-15T08:00:00Z", NOW)) == "2027-01-15T08:00:00Z"


def test_a_time_that_is_neither_is_refused_with_the_accepted_forms():
    with pytest.raises(ValueError, match="duration such as 15m, 6h or 2d"):
        parse_time("yesterday", NOW)


def test_iso_time_prints_utc_to_the_second():
    assert iso_time(0) == "1970-01-01T00:00:00Z"
    assert iso_time(1_795_930_455.75) == "2026-11-29T05:34:15Z"
    assert iso_time(None) == "-"


def test_a_piped_secret_loses_its_trailing_newline(tmp_path):
    assert read_secret("signing secret", stdin=Piped("s3cret\n")) == "s3cret"
    path = tmp_path / "secret.txt"
    path.write_text("from-file\n")
    assert read_secret("signing secret", path=path, stdin=Piped("ignored")) == "from-file"


def test_an_empty_secret_is_refused():
    with pytest.raises(ValueError, match="the signing secret is empty; nothing was stored"):
        read_secret("signing secret", stdin=Piped(" \n"))


@pytest.mark.parametrize("url", ["https://accounts.zoho.eu", "http://127.0.0.1:8810",
                                 "http://localhost:9/"])
def test_accounts_urls_must_be_https_except_on_loopback(url):
    assert check_accounts_url(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://accounts.zoho.eu", "ftp://x", "accounts.zoho.eu",
                                 "http://10.0.0.1"])
def test_plain_http_accounts_urls_are_refused(url):
    with pytest.raises(ValueError, match="must be https"):
        check_accounts_url(url)


def test_a_connection_document_holds_the_credentials_and_no_cached_token():
    assert connection_document("id", "secret", "refresh", dc="eu") == {
        "client_id": "id", "client_secret": "secret", "refresh_token": "refresh", "dc": "eu"}
    with pytest.raises(ValueError, match="unknown data centre"):
        connection_document("id", "secret", "refresh", dc="mars")


def _mapping(store: InMemoryMappingStore, source: str, secret_id: str | None) -> None:
    verify = {"scheme": "hmac", "header": "X-Sig"} | ({"secret_id": secret_id} if secret_id else {})
    store.save({"source": source, "verify": verify, "rules": [
        {"name": "r", "module": "Contacts", "record": {"id": "id"}, "fields": {"Email": "e"}}]},
        now=NOW)


def test_a_signing_secret_goes_where_the_mapping_looks():
    mappings, secrets = InMemoryMappingStore(), InMemorySecretStore()
    _mapping(mappings, "shopify-orders", "zwa/webhook/shop-main")
    stored = store_signing_secret(mappings, secrets, "shopify-orders", "k1")
    assert (stored.secret_id, stored.keys, stored.mapping_found) == (
        "zwa/webhook/shop-main", 1, True)
    assert secrets.values == {"zwa/webhook/shop-main": "k1"}


def test_without_a_mapping_the_secret_goes_to_the_default_place():
    secrets = InMemorySecretStore()
    stored = store_signing_secret(InMemoryMappingStore(), secrets, "typeform", "k1")
    assert (stored.secret_id, stored.mapping_found) == ("zwa/webhook/typeform", False)


def test_add_keeps_the_older_keys_after_the_new_one_and_a_plain_set_drops_them():
    mappings, secrets = InMemoryMappingStore(), InMemorySecretStore()
    _mapping(mappings, "stripe", None)
    store_signing_secret(mappings, secrets, "stripe", "k1")
    store_signing_secret(mappings, secrets, "stripe", "k2", add=True)
    stored = store_signing_secret(mappings, secrets, "stripe", "k3", add=True)
    assert stored.keys == 3
    assert json.loads(secrets.values["zwa/webhook/stripe"]) == {"secrets": ["k3", "k2", "k1"]}
    store_signing_secret(mappings, secrets, "stripe", "k4")
    assert secrets.values["zwa/webhook/stripe"] == "k4"
