"""Schedulers bound to an exchange's asyncio loop, so users never pass one."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar, Token
from typing import Any

from reactivex import abc
from reactivex.scheduler.eventloop import AsyncIOScheduler

__all__ = ["scheduler_for", "use_virtual_scheduler", "virtual_scheduler"]


def scheduler_for(exchange: Any = None) -> AsyncIOScheduler:
    """An ``AsyncIOScheduler`` on ``exchange``'s loop (or the running loop)."""
    loop = getattr(exchange, "asyncio_loop", None) or asyncio.get_running_loop()
    return AsyncIOScheduler(loop)


#: The virtual-time scheduler of the replay open in this context (see ``rxpro.replay``).
_virtual_scheduler: ContextVar[abc.SchedulerBase | None] = ContextVar("rxpro_virtual_scheduler", default=None)


def virtual_scheduler() -> abc.SchedulerBase | None:
    """The replay's virtual-time scheduler while a replay is open here, else ``None``.

    ``rxpro.operators`` use it as their default scheduler, so time operators run on
    the recording's clock during a replay.
    """
    return _virtual_scheduler.get()


def use_virtual_scheduler(scheduler: abc.SchedulerBase | None, token: Token[Any] | None = None) -> Token[Any] | None:
    """Make ``scheduler`` the operators' default in this context (``None`` + token: undo)."""
    if scheduler is not None:
        return _virtual_scheduler.set(scheduler)
    if token is not None:
        try:
            _virtual_scheduler.reset(token)
            return None
        except ValueError:  # closed from another context than the one that opened it
            pass
    _virtual_scheduler.set(None)
    return None
