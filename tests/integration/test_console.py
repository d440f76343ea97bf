"""``zwa console`` as a process: where it listens, what it prints, what it refuses."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator

import pytest
import requests

from devstack.stack import LocalStack, free_port
from tests.integration.conftest import post_webhook, zwa
from tests.integration.console import ConsoleProcess, console_command, start_console

pytestmark = pytest.mark.integration


@pytest.fixture
def console(stack: LocalStack) -> Iterator[ConsoleProcess]:
    running = start_console(stack, free_port())
    yield running
    running.stop()


def test_it_prints_a_url_on_127_0_0_1_with_a_long_random_token(stack):
    first, second = start_console(stack, free_port()), start_console(stack, free_port())
    try:
        assert first.url.startswith(f"http://127.0.0.1:{first.port}/?token=")
        assert len(first.token) >= 40
        assert first.token != second.token
    finally:
        first.stop()
        second.stop()


def test_it_listens_on_127_0_0_1_only(console):
    with socket.create_connection(("127.0.0.1", console.port), timeout=2):
        pass
    # Any other address of the machine, even another loopback one, finds nothing there.
    with pytest.raises(OSError), socket.create_connection(("127.0.0.2", console.port), timeout=2):
        pass


def test_its_request_log_never_holds_the_token(stack, console):
    session = requests.Session()
    assert session.get(console.url, timeout=10).status_code == 200
    assert session.get(f"{console.base}/deliveries?status=failed", timeout=10).status_code == 200
    assert requests.get(f"{console.base}/?token=wrong", timeout=10).status_code == 403
    log = console.stop()
    assert console.process.returncode == 0  # Ctrl-C is the way to stop it
    assert "GET / 303" in log and "GET /deliveries 200" in log and "GET / 403" in log
    assert console.token not in log
    assert "token=" not in log


def test_a_request_without_the_token_gets_403_and_no_delivery(stack, sandbox, ledger, console):
    assert post_webhook(stack, "example", b'{"id": "console-hidden-1", "type": "x"}'
                        ).status_code == 200  # ignored, and in the ledger
    for path in ("/", "/deliveries", "/deliveries/example/console-hidden-1",
                 "/mappings/example"):
        response = requests.get(console.base + path, timeout=10)
        assert response.status_code == 403, path
        assert "console-hidden-1" not in response.text
        assert "contact-updated" not in response.text


def test_a_second_console_on_a_busy_port_says_so_in_one_line(stack, console):
    command, env = console_command(stack, console.port)
    result = subprocess.run(command, env=env, capture_output=True, text=True,  # noqa: S603
                            timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"zwa: port {console.port} of 127.0.0.1 is in use; "
                                     "pick another with --port")


def test_the_cli_lists_the_same_deliveries_as_the_console(stack, sandbox, ledger, console):
    assert post_webhook(stack, "example", b'{"id": "console-same-1", "type": "x"}'
                        ).status_code == 200
    listed = zwa(stack, "deliveries", "list", "example", "--status", "ignored", "--limit", "5")
    assert listed.returncode == 0, listed.stderr
    cli_ids = [line.split("\t")[2] for line in listed.stdout.splitlines()]
    session = requests.Session()
    session.get(console.url, timeout=10)
    page = session.get(f"{console.base}/deliveries?source=example&status=ignored",
                       timeout=10).text
    assert "console-same-1" in cli_ids
    shown = [delivery_id for delivery_id in cli_ids if f">{delivery_id}</a>" in page]
    assert shown == cli_ids
