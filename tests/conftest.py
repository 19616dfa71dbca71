"""Suite-wide guard: what asyncio reports through its exception handler fails the test.

``filterwarnings = error`` turns warnings into errors, but asyncio reports a future
whose exception nobody retrieved, a task destroyed while pending, or an exception in
a callback through its loop's exception handler, which logs on the ``asyncio``
logger — often at garbage collection, after the test has passed. This guard collects
those records (after a ``gc.collect()`` at teardown, when the test's loop is closed)
and fails the test that left them.  What survives that collection is frozen
(``gc.freeze()``), so each test's collection walks only what was made since.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator

import pytest


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def asyncio_reports_nothing(request: pytest.FixtureRequest) -> Iterator[None]:
    handler = _Records()
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    try:
        yield
        if request.node.get_closest_marker("asyncio") is not None:
            gc.collect()  # only after tests that ran a loop (pytest-asyncio marks them)
            # What survived is the session's (cached recordings, imported modules: over a
            # million objects): frozen, the next test's collection does not walk it again
            # (that walk was ~0.6 s a test, a third of the suite's time).
            gc.freeze()
    finally:
        logger.removeHandler(handler)
    if handler.records:
        messages = "\n".join(record.getMessage() for record in handler.records)
        pytest.fail(f"asyncio reported {len(handler.records)} problem(s) during this test:\n{messages}")
