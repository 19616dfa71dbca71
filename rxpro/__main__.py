"""``python -m rxpro`` / the ``rxpro`` console script."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rxpro", description="ccxt.pro streams as ReactiveX Observables")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="offline: replay recorded Binance data, print a throttled ticker and book")
    demo.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        try:
            run_demo(args.seconds)
        except KeyboardInterrupt:
            return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
