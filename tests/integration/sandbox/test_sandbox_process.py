"""The sandbox as a process (command line, ready line, signals) and as an in-process server."""

from __future__ import annotations

import signal

import pytest
import requests

from devstack.zoho_sandbox import SandboxServer

from .conftest import CLIENT, REFRESH_TOKEN, start_sandbox, stop_sandbox


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_the_process_prints_its_url_and_stops_cleanly_on_a_signal(stop_signal):
    process, url = start_sandbox()
    try:
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(f"{url}/__sandbox/health", timeout=5).json() == {"status": "ok"}
    finally:
        process.send_signal(stop_signal)
        assert process.wait(timeout=10) == 0


def test_command_line_options_set_the_limits(sandbox_process):
    process, url = start_sandbox("--token-lifetime", "120", "--concurrency", "3",
                                 "--daily-credits", "50", "--latency-ms", "5")
    try:
        config = requests.get(f"{url}/__sandbox/config", timeout=5).json()["config"]
        assert config["token_lifetime"] == 120
        assert config["concurrency"] == 3
        assert config["daily_credits"] == 50
        assert config["latency_ms"] == 5
        form = {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN, **CLIENT}
        token = requests.post(f"{url}/oauth/v2/token", data=form, timeout=5).json()
        assert token["expires_in"] == 120
        assert token["api_domain"] == url
    finally:
        assert stop_sandbox(process) == 0


def test_the_sandbox_runs_in_process_on_a_free_port():
    with SandboxServer("127.0.0.1", port=0, token_lifetime=60) as server:
        assert server.port > 0
        form = {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN, **CLIENT}
        body = requests.post(f"{server.url}/oauth/v2/token", data=form, timeout=5).json()
        assert body["expires_in"] == 60
        assert body["api_domain"] == server.url
        url = server.url
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/__sandbox/health", timeout=2)
