"""Helpers for the replay tests: collect everything an Observable emits during a replay."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reactivex import Observable


@dataclass
class Sink:
    """Everything one subscription saw."""

    items: list[Any] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    completed: bool = False


def sink(source: Observable[Any]) -> Sink:
    out = Sink()
    source.subscribe(out.items.append, out.errors.append, lambda: setattr(out, "completed", True))
    return out
