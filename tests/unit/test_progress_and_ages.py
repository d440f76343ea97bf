"""What the operator sees of long operations: a progress bar on a terminal, ages for people."""

import io

import pytest

from zwa.inputs import duration
from zwa.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_bar_is_drawn_in_place_on_a_terminal_and_its_line_ended():
    screen = Terminal()
    bar = ProgressBar("sending back", stream=screen, width=10)
    bar.update(1, 4)
    bar.update(4, 4)
    bar.close()
    assert screen.getvalue() == (
        "\rsending back [##........] 1/4\rsending back [##########] 4/4\n")


def test_no_bar_when_the_output_is_piped():
    piped = io.StringIO()
    bar = ProgressBar("sending back", stream=piped)
    bar.update(1, 2)
    bar.close()
    assert piped.getvalue() == ""


@pytest.mark.parametrize("seconds,text", [
    (0, "0s"), (59.9, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h 0m"), (7500, "2h 5m"),
    (86400 * 2 + 3600 * 4 + 59, "2d 4h"), (-3, "0s"),
])
def test_ages_read_as_durations(seconds, text):
    assert duration(seconds) == text
