"""``python -m rxpro`` / the ``rxpro`` console script (the commands live in ``rxpro.cli``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from .cli import main as cli_main

        return cli_main(argv)
    except KeyboardInterrupt:  # Ctrl-C while importing ccxt, before any handler is set
        return 130


if __name__ == "__main__":
    sys.exit(main())
