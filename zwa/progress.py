"""A progress bar for long operations: on a terminal only, silent when piped (I/O: a stream)."""

from __future__ import annotations

import sys
from typing import TextIO


class ProgressBar:
    """``label [#####.....] 3/10`` redrawn in place on ``stream`` (stderr) when it is a tty."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.shown = False
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())

    def update(self, done: int, total: int) -> None:
        """Draw ``done`` of ``total``."""
        if not self.enabled or total <= 0:
            return
        filled = self.width * min(done, total) // total
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        """End the bar's line, if one was drawn."""
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False
