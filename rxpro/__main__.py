"""``python -m rxpro`` / the ``rxpro`` console script (the commands live in ``rxpro.cli``)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        with _ctrl_c_held():
            from .cli import main as cli_main

        return cli_main(argv)
    except KeyboardInterrupt:  # Ctrl-C while importing ccxt, before any handler is set
        return 130


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Hold a Ctrl-C that arrives while the command line imports its own modules; it is raised on the way out.

    Among those imports is orjson, whose extension module crashes the interpreter (SIGSEGV) when a
    KeyboardInterrupt is raised during its initialisation: the signal is blocked for those few
    milliseconds and delivered, as a KeyboardInterrupt, as soon as they are over.
    """
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


if __name__ == "__main__":
    sys.exit(main())
