"""What an operator types: secret values and points in time (I/O: the terminal and files).

And the two ways times are printed back: ``iso_time`` and ``duration``.

Secrets never come from the command line, where ``ps`` and the shell history
would keep them: they are read from a file, from standard input when it is not
a terminal, or from a prompt that does not echo.
"""

from __future__ import annotations

import getpass
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def read_secret(label: str, *, path: Path | None = None, stdin: TextIO | None = None,
                confirm: bool = False) -> str:
    """One secret value: the file's text, else stdin's when piped, else a silent prompt.

    Surrounding white space (a file's or ``echo``'s trailing newline) is removed;
    an empty value is refused.
    """
    stream = stdin if stdin is not None else sys.stdin
    if path is not None:
        value = path.read_text()
    elif not stream.isatty():
        value = stream.read()
    else:
        value = getpass.getpass(f"{label}: ")
        if confirm and getpass.getpass(f"{label} (again): ") != value:
            raise ValueError(f"the two {label} values differ; nothing was stored")
    value = value.strip()
    if not value:
        raise ValueError(f"the {label} is empty; nothing was stored")
    return value


def parse_time(text: str, now: float) -> float:
    """Epoch seconds of an ISO 8601 time (UTC unless it says) or a duration back from now.

    ``15m``, ``6h``, ``2d`` and ``1w`` are durations; ``2026-11-29T05:00:00Z`` and
    ``2026-11-29`` are times.
    """
    match = _DURATION.match(text.strip().lower())
    if match:
        return now - int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"{text!r} is neither an ISO 8601 time nor a duration such as 15m, 6h or 2d"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def iso_time(epoch: float | int | None) -> str:
    """An epoch time as ISO 8601 in UTC, to the second: ``2026-11-29T05:34:15Z``."""
    if epoch is None or epoch == "":
        return "-"
    moment = datetime.fromtimestamp(float(epoch), tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(seconds: float) -> str:
    """``45s``, ``12m``, ``3h 5m``, ``2d 4h``: an age for people."""
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 3600:
        return f"{minutes}m"
    if seconds < 86400:
        return f"{hours}h {minutes % 60}m"
    return f"{days}d {hours % 24}h"
