"""stdout for lines written from Rx callbacks, where an exception would only be logged."""

from __future__ import annotations

import io
from typing import TextIO

__all__ = ["PipeSafe"]


class PipeSafe(io.TextIOBase):
    """Writes through to ``stream`` until its reader goes away (``| head``), then drops text.

    ``broken`` tells the command to stop; ``main`` then exits 141 without a traceback.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self.stream.write(text)
            except BrokenPipeError:
                self.broken = True
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self.broken = True

    def line(self, text: str) -> bool:
        """Write ``text`` and a newline, flushed; ``False`` once the pipe is broken."""
        self.write(text + "\n")
        self.flush()
        return not self.broken
