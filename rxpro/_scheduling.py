"""Schedulers bound to an exchange's asyncio loop, so users never pass one."""

from __future__ import annotations

import asyncio
from typing import Any

from reactivex.scheduler.eventloop import AsyncIOScheduler

__all__ = ["scheduler_for"]


def scheduler_for(exchange: Any = None) -> AsyncIOScheduler:
    """An ``AsyncIOScheduler`` on ``exchange``'s loop (or the running loop)."""
    loop = getattr(exchange, "asyncio_loop", None) or asyncio.get_running_loop()
    return AsyncIOScheduler(loop)
