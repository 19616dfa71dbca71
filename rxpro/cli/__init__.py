"""The ``rxpro`` command line: ``exchanges``, ``watch``, ``record``, ``replay``, ``publish`` and ``demo``.

Only the command line lives here (click commands, rich views, exit codes);
streams, recording and replay come from ``rxpro`` itself.
"""

from ._app import cli, main

__all__ = ["cli", "main"]
