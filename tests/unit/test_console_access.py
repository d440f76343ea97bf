"""The console's access rules (tokens, CSRF, Host, Origin) and its escaping helpers."""

from zwa.console.access import (
    allowed_host,
    allowed_origin,
    cookie_name,
    csrf_token,
    query_without_token,
    same_secret,
)
from zwa.console.render import delivery_url, shell_word, status_class


def test_only_the_whole_token_matches():
    assert same_secret("abc123", "abc123")
    assert not same_secret("abc12", "abc123")
    assert not same_secret("abc1234", "abc123")
    assert not same_secret("", "abc123")
    assert not same_secret(None, "abc123")
    assert not same_secret("\udcff", "abc123")  # a lone surrogate from a bad URL is no match


def test_the_csrf_token_is_stable_per_console_and_differs_between_consoles():
    assert csrf_token("one") == csrf_token("one")
    assert csrf_token("one") != csrf_token("two")
    assert "one" not in csrf_token("one")


def test_two_consoles_on_two_ports_keep_their_cookies_apart():
    assert cookie_name(8787) != cookie_name(8788)


def test_only_loopback_names_on_the_consoles_port_are_served():
    assert allowed_host("127.0.0.1:8787", 8787)
    assert allowed_host("localhost:8787", 8787)
    assert not allowed_host("127.0.0.1:8788", 8787)
    assert not allowed_host("rebound.example:8787", 8787)
    assert not allowed_host("127.0.0.1", 8787)
    assert not allowed_host(None, 8787)


def test_a_post_without_origin_passes_but_a_foreign_origin_does_not():
    assert allowed_origin(None, 8787)
    assert allowed_origin("http://127.0.0.1:8787", 8787)
    assert not allowed_origin("null", 8787)
    assert not allowed_origin("http://127.0.0.1:9999", 8787)
    assert not allowed_origin("https://evil.example", 8787)


def test_the_token_is_dropped_from_the_query_and_the_rest_kept_in_order():
    pairs = [("status", "failed"), ("token", "t"), ("source", "a b"), ("token", "u")]
    assert query_without_token(pairs) == "status=failed&source=a+b"
    assert query_without_token([("token", "t")]) == ""


def test_a_delivery_url_encodes_every_character_of_the_id():
    assert delivery_url("shop", "a/b?c#d e") == "/deliveries/shop/a%2Fb%3Fc%23d%20e"
    assert delivery_url("shop", "<x>") == "/deliveries/shop/%3Cx%3E"


def test_suggested_commands_quote_what_they_quote():
    assert shell_word("evt 1; rm -rf /") == "'evt 1; rm -rf /'"
    assert shell_word("evt_1") == "evt_1"


def test_an_unknown_status_gets_a_neutral_class_not_one_built_from_it():
    assert status_class("failed") == "status-failed"
    assert status_class('x" onmouseover="alert(1)') == "status-other"
