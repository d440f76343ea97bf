import pytest

from chalicelib.errors import SettingsError
from chalicelib.settings import load_settings

NAMES = {"ZWA_MAPPINGS_TABLE": "m", "ZWA_DELIVERIES_TABLE": "d", "ZWA_DELIVERIES_QUEUE": "q",
         "ZWA_DEAD_LETTER_QUEUE": "dlq"}


def test_the_worker_timings_have_defaults_that_fit_a_one_minute_worker():
    settings = load_settings(NAMES)
    assert (settings.token_timeout_seconds, settings.zoho_timeout_seconds,
            settings.time_margin_seconds) == (10.0, 15.0, 5.0)


def test_the_worker_timings_come_from_the_environment():
    settings = load_settings({**NAMES, "ZWA_TOKEN_TIMEOUT_SECONDS": "4",
                              "ZWA_ZOHO_TIMEOUT_SECONDS": "6", "ZWA_TIME_MARGIN_SECONDS": "2.5"})
    assert (settings.token_timeout_seconds, settings.zoho_timeout_seconds,
            settings.time_margin_seconds) == (4.0, 6.0, 2.5)


@pytest.mark.parametrize("name", ["ZWA_TOKEN_TIMEOUT_SECONDS", "ZWA_TIME_MARGIN_SECONDS"])
def test_a_timing_that_is_not_a_number_fails_loudly(name):
    with pytest.raises(SettingsError, match=name):
        load_settings({**NAMES, name: "ten"})


@pytest.mark.parametrize(("cap", "containers", "at_once"),
                         [(None, None, 1), ("10", "2", 5), ("10", "3", 3), ("5", "10", 1)])
def test_the_messages_a_container_handles_at_once_keep_all_containers_within_zohos_cap(
        cap, containers, at_once):
    environ = dict(NAMES)
    if cap:
        environ |= {"ZWA_ZOHO_CONCURRENCY": cap, "ZWA_WORKER_MAX_CONCURRENCY": containers}
    assert load_settings(environ).parallel_messages == at_once


@pytest.mark.parametrize("value", ["ten", "0", "2.5"])
def test_a_concurrency_that_is_not_a_positive_whole_number_fails_loudly(value):
    with pytest.raises(SettingsError, match="ZWA_ZOHO_CONCURRENCY"):
        load_settings({**NAMES, "ZWA_ZOHO_CONCURRENCY": value})
