"""Packaging: one import namespace, py.typed, and a clean mypy."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_install_imports_the_namespaced_names_and_no_top_level_folders(tmp_path: Path) -> None:
    # a fresh interpreter outside the checkout: what the installation provides, not pytest's sys.path
    script = (
        "import importlib.util, rxpro, rxpro.exchanges, rxpro.operators, rxpro.testing\n"
        "assert rxpro.exchanges.__name__ == 'rxpro.exchanges'\n"
        "assert rxpro.operators.__name__ == 'rxpro.operators'\n"
        "assert rxpro.exchanges.binance.__module__ == 'rxpro.exchanges'\n"
        "print(importlib.util.find_spec('exchanges'), importlib.util.find_spec('operators'))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None None"


@pytest.mark.timeout(300)
def test_the_wheel_holds_only_the_rxpro_namespace(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("rxpro-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"rxpro", next(t for t in tops if t.endswith(".dist-info"))}
    for required in (
        "rxpro/__init__.py",
        "rxpro/py.typed",
        "rxpro/exchanges/__init__.py",
        "rxpro/operators/__init__.py",
        "rxpro/testing/__init__.py",
        "rxpro/testing/data/btcusdt_20240808.gz",
        "rxpro/testing/data/usdm/btcusdt_20240808.gz",
        "rxpro/testing/data/cryptofeed/COINBASE.ws.28.0",
        "rxpro/exchanges/data/stubs/BITSTAMP.markets.0",  # venue data: moved from rxpro/testing/data (issue 8)
        "rxpro/exchanges/data/BINANCE.0",
        "rxpro/exchanges/data/LICENSE.cryptofeed",
        "rxpro/testing/data/LICENSE.cryptofeed",
        "rxpro/cli/__init__.py",
        "rxpro/jupyter.py",
        "rxpro/data/manual-exchanges.txt",
    ):
        assert required in names, required
    # every module of the source tree ships (a package missing from pyproject's list would not)
    for folder, prefix in (("rxpro", "rxpro"), ("exchanges", "rxpro/exchanges"), ("operators", "rxpro/operators")):
        for source in (ROOT / folder).rglob("*.py"):
            if "__pycache__" not in source.parts:
                shipped = f"{prefix}/{source.relative_to(ROOT / folder).as_posix()}"
                assert shipped in names, f"{source.relative_to(ROOT)} is not in the wheel"
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.mark.timeout(600)
def test_mypy_disallow_untyped_defs_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--disallow-untyped-defs", "rxpro", "exchanges", "operators"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
