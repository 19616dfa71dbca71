"""A trial, not shipped: the native parsers with ``exchanges/_native_parse.py`` compiled by mypyc.

Issue 9 leaves the natives above cryptofeed on most rows; what is left is Python's own cost per
call. This measures what compiling the one venue-independent module of the natives would give,
side by side with the pure-Python module, without changing how rxpro is built or installed.

Run (in an environment with mypy, which brings mypyc, and a C compiler; cryptofeed 2.4.1 too
for its column): ``python bench/bench_compiled.py [--pairs 2] [bench_parsers options...]``,
e.g. ``python bench/bench_compiled.py --no-session --rounds 5``.

* It builds ``_native_parse`` with mypyc in a temporary directory (as
  ``rxpro.exchanges._native_parse``), then runs ``bench/bench_parsers.py`` with the options
  given, ``--pairs`` times each way, alternating: pure Python, then compiled (a
  ``sitecustomize`` on ``PYTHONPATH`` puts a meta-path finder before the others that loads the
  compiled module under that name; nothing else changes).
* Per case it prints the median over the pairs of rxpro-native's µs per frame each way,
  compiled/pure, and each way's ratio to ccxt's handler and to cryptofeed as bench_parsers
  measured them in the same run (only ratios compare across runs on this shared machine).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "exchanges" / "_native_parse.py"
NAME = "rxpro.exchanges._native_parse"

SITECUSTOMIZE = '''
import importlib.util, os, sys
_DIR = {directory!r}
_FILES = {files!r}

class CompiledNativeParse:
    """Loads the mypyc build of {name} in place of the source module."""

    def find_spec(self, name, path=None, target=None):
        file = _FILES.get(name)
        return None if file is None else importlib.util.spec_from_file_location(name, os.path.join(_DIR, file))

sys.meta_path.insert(0, CompiledNativeParse())
'''

#: a row of bench_parsers' case table: venue, channel, frames, floor, cryptofeed, ccxt, native, off, ...
ROW = re.compile(r"^\| (?P<venue>[a-z]+) \| (?P<channel>[^|]+?) \| [\d,]+ \|(?P<rest>.*)$")


def build(directory: Path) -> Path:
    """mypyc's build of ``_native_parse`` as ``rxpro.exchanges._native_parse``; returns the folder of its .so files."""
    package = directory / "rxpro" / "exchanges"
    package.mkdir(parents=True)
    (directory / "rxpro" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / MODULE.name).write_text(MODULE.read_text())
    (directory / "mypy.ini").write_text("[mypy]\nignore_missing_imports = True\n")
    mypyc = [sys.executable, "-m", "mypyc", "--config-file", "mypy.ini", f"rxpro/exchanges/{MODULE.name}"]
    done = subprocess.run(mypyc, cwd=directory, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"mypyc failed:\n{done.stdout}\n{done.stderr}")
    return package


def site_for(package: Path, directory: Path) -> Path:
    files = {}
    for so in package.glob("*.so"):
        stem = so.name.split(".")[0]  # _native_parse, or mypyc's shared _native_parse__mypyc
        files[f"rxpro.exchanges.{stem}"] = so.name
    if NAME not in files:
        raise SystemExit(f"mypyc left no extension module for {NAME} in {package}")
    site = directory / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE.format(directory=str(package), files=files, name=NAME))
    return site


def number(text: str) -> float | None:
    text = text.strip().strip("*").replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


def run_once(options: Sequence[str], site: Path | None) -> dict[tuple[str, str], tuple[float | None, ...]]:
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_parsers.py"), *options],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench_parsers failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    rows = {}
    for line in done.stdout.splitlines():
        match = ROW.match(line)
        if match:
            cells = [number(cell) for cell in match["rest"].split("|")[:5]]  # floor, cryptofeed, ccxt, native, off
            rows[(match["venue"], match["channel"].strip())] = tuple(cells)
    return rows


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def cell(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=2, help="runs each way, alternating (default 2)")
    args, options = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory(prefix="rxpro-mypyc-") as temp:
        directory = Path(temp)
        site = site_for(build(directory), directory)
        runs: dict[str, list[dict[tuple[str, str], tuple[float | None, ...]]]] = {"pure": [], "compiled": []}
        for pair in range(args.pairs):
            for way in runs:
                print(f"run {pair + 1}/{args.pairs}: {way}", file=sys.stderr, flush=True)
                runs[way].append(run_once(options, site if way == "compiled" else None))
    keys = list(dict.fromkeys(key for way in runs.values() for run in way for key in run))
    print("| venue | channel | native µs, pure | native µs, compiled | compiled/pure "
          "| pure/ccxt | compiled/ccxt | pure/cryptofeed | compiled/cryptofeed |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for key in keys:
        figures = {}
        for way, way_runs in runs.items():
            rows = [run[key] for run in way_runs if key in run]
            native = [r[3] for r in rows if r[3] is not None]
            to_ccxt = [r[3] / r[2] for r in rows if r[3] is not None and r[2]]
            to_cf = [r[3] / r[1] for r in rows if r[3] is not None and r[1]]
            figures[way] = (median(native), median(to_ccxt), median(to_cf))
        pure, compiled = figures["pure"], figures["compiled"]
        ratio = compiled[0] / pure[0] if pure[0] and compiled[0] else None
        print(f"| {key[0]} | {key[1]} | {cell(pure[0])} | {cell(compiled[0])} | {cell(ratio)} "
              f"| {cell(pure[1])} | {cell(compiled[1])} | {cell(pure[2])} | {cell(compiled[2])} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
