"""Helpers for driving ``python -m rxpro`` as a subprocess, several at once to keep the suite short."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def environment(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TTY_COMPATIBLE", None)
    env.pop("FORCE_COLOR", None)
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "120"
    env.update(extra)
    return env


def start(*args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rxpro", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=environment(**env),
    )


def run_all(commands: Sequence[Sequence[str]], timeout: float = 80.0,
            envs: Sequence[dict[str, str]] | None = None, **env: str) -> list[Run]:
    """Run every command at once, each with ``env`` plus its own entry of ``envs``."""
    extra = list(envs) if envs is not None else [{} for _ in commands]
    processes = [start(*command, **{**env, **own}) for command, own in zip(commands, extra)]
    deadline = time.monotonic() + timeout
    runs = []
    try:
        for command, process in zip(commands, processes):
            stdout, stderr = process.communicate(timeout=max(0.1, deadline - time.monotonic()))
            runs.append(Run(tuple(command), process.returncode, stdout, stderr))
    finally:
        for process in processes:
            reap(process)
    return runs


def reap(process: subprocess.Popen[str]) -> None:
    """Kill ``process`` if it is still running (a test that failed half-way), and wait for it."""
    if process.poll() is None:
        process.kill()
        process.communicate()


def main_in_process(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``rxpro <args>`` through ``rxpro.__main__.main`` in this process (quicker than a subprocess)."""
    from rxpro.__main__ import main

    monkeypatch.chdir(ROOT)
    code = main(args)
    captured = capsys.readouterr()
    return Run(tuple(args), code, captured.out, captured.err)


def run(*args: str, timeout: float = 50.0, **env: str) -> Run:
    return run_all([args], timeout, None, **env)[0]
