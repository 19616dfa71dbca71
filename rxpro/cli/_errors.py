"""The command line's two ways to stop early: a user error (exit 2) and Ctrl-C (exit 130)."""

from __future__ import annotations

import click

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "Interrupted",
    "UserError",
]

EXIT_OK = 0
EXIT_ERROR = 1  # the exchange, the network or rxpro failed
EXIT_USAGE = 2  # the user asked for something that does not exist (click's own usage code)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_TERMINATED = 143  # 128 + SIGTERM
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of stdout went away (``| head``)


class UserError(click.ClickException):
    """A bad exchange id, symbol, stream, timeframe or file: one line on stderr, exit 2."""

    exit_code = EXIT_USAGE


class Interrupted(Exception):
    """Ctrl-C (or SIGTERM) arrived; everything the command opened has been closed.

    Not a ``KeyboardInterrupt``: click would turn that into ``Abort`` and print a blank line.
    """

    def __init__(self, exit_code: int = EXIT_INTERRUPTED) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code
