"""The shape of the house, checked with import-linter (and grimp, the graph it is built on).

Contracts (issue 8):

* no import circle inside ``rxpro``: between sibling packages/modules (import-linter's
  ``acyclic_siblings``) and between single modules (grimp);
* the library core never imports ``rxpro.testing`` (the demo and the CLI, whose
  ``--simulator`` runs offline, may);
* the operators use no private module of the core but the two leaves: the scheduler
  module (the one place that decides the default scheduler) and the errors module (one
  exception tree for all of rxpro); both import nothing else of rxpro;
* the venue modules of ``exchanges/`` hold facts: they import no part of the push path,
  the registry, replay, record, CLI or testing.

``exchanges/`` and ``operators/`` are installed as ``rxpro.exchanges`` / ``rxpro.operators``
(pyproject's ``package-dir``), which grimp can't follow in the checkout: the contracts
run on a copy of the sources in the installed layout.  ``TYPE_CHECKING`` imports are
not imports at run time and are left out.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
#: core modules that may use rxpro.testing: the offline demo and the CLI (its --simulator)
MAY_USE_TESTING = {"rxpro._demo", "rxpro.cli", "rxpro.__main__"}
#: the private core modules the operators may import: leaves importing nothing of rxpro
OPERATORS_MAY_USE = {"rxpro._scheduling", "rxpro._errors"}
#: what a venue module of exchanges/ may import from the core: the leaf modules of recorded data
VENUES_MAY_USE = {"rxpro._recorded", "rxpro._replay_protocols"}
#: the one import that is not a circle at module level: the exchange-class namespace
#: (exchanges/__init__.py) asks the registry, which asks the venue table (exchanges/_table.py)
NAMESPACE_EDGE = "rxpro.exchanges -> rxpro._registry"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sources copied into the installed layout (rxpro/, rxpro/exchanges/, rxpro/operators/)."""
    target = tmp_path_factory.mktemp("layout")
    python_only = shutil.ignore_patterns("data", "__pycache__", "*.pyc", "*.gz", "*.zst")
    shutil.copytree(ROOT / "rxpro", target / "rxpro", ignore=python_only)
    shutil.copytree(ROOT / "exchanges", target / "rxpro" / "exchanges", ignore=python_only)
    shutil.copytree(ROOT / "operators", target / "rxpro" / "operators", ignore=python_only)
    return target


def _children(graph: grimp.ImportGraph, package: str) -> set[str]:
    return {m for m in graph.find_children(package)}


def _contracts(graph: grimp.ImportGraph) -> str:
    core = sorted(m for m in _children(graph, "rxpro") if m not in MAY_USE_TESTING | {"rxpro.testing"})
    private_core = sorted(
        m for m in _children(graph, "rxpro")
        if m not in OPERATORS_MAY_USE and m not in {"rxpro.operators", "rxpro.__main__"}
    )
    venue_modules = sorted(m for m in _children(graph, "rxpro.exchanges") if m.rsplit(".", 1)[1].startswith("_"))
    venue_forbidden = sorted(
        m for m in _children(graph, "rxpro")
        if m not in VENUES_MAY_USE | {"rxpro.exchanges", "rxpro._errors"}
    )

    def lines(names: list[str]) -> str:
        return "\n".join(f"    {name}" for name in names)

    return f"""
[importlinter]
root_package = rxpro
exclude_type_checking_imports = True

[importlinter:contract:no-circles]
name = No import circles between the parts of rxpro
type = acyclic_siblings
ancestors = rxpro
ignore_imports =
    {NAMESPACE_EDGE}

[importlinter:contract:core-without-testing]
name = The library core never imports rxpro.testing (the demo and the CLI may)
type = forbidden
source_modules =
{lines(core)}
forbidden_modules =
    rxpro.testing

[importlinter:contract:operators-standalone]
name = Operators use no private core module but the scheduler and errors modules
type = forbidden
source_modules =
    rxpro.operators
forbidden_modules =
{lines(private_core)}

[importlinter:contract:venues-hold-facts]
name = Venue modules import no machinery: only the leaf modules of recorded data
type = forbidden
source_modules =
{lines(venue_modules)}
forbidden_modules =
{lines(venue_forbidden)}
"""


def _graph(installed: Path) -> grimp.ImportGraph:
    """grimp's graph of ``installed``.

    grimp finds the package through importlib, which would answer with the ``rxpro``
    already imported by the test session or with the editable install's finder (both
    the checkout, where ``exchanges/`` isn't under ``rxpro/``): both are set aside while
    the graph is built.
    """
    imported = {name: sys.modules.pop(name) for name in list(sys.modules) if name == "rxpro" or name.startswith("rxpro.")}
    finders = [f for f in sys.meta_path if "__editable__" in getattr(f, "__module__", "") or "__editable__" in repr(f)]
    for finder in finders:
        sys.meta_path.remove(finder)
    sys.path.insert(0, str(installed))
    try:
        graph = grimp.build_graph("rxpro", cache_dir=None, exclude_type_checking_imports=True)
    finally:
        sys.path.remove(str(installed))
        sys.meta_path[0:0] = finders
        for name in [n for n in sys.modules if n == "rxpro" or n.startswith("rxpro.")]:
            del sys.modules[name]  # anything importlib loaded from the copy
        sys.modules.update(imported)
    assert "rxpro.exchanges" in graph.modules, "the graph was not built from the installed layout"
    return graph


def _lint(tree: Path, config: Path) -> subprocess.CompletedProcess[str]:
    """import-linter's own command (``lint-imports``) on ``tree`` in the installed layout."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), str(config), "--no-cache"],
        cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )


def test_the_import_contracts_hold(installed: Path, tmp_path: Path) -> None:
    config = tmp_path / "importlinter.ini"
    config.write_text(_contracts(_graph(installed)), encoding="utf-8")
    result = _lint(installed, config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken" in result.stdout, result.stdout


def test_no_module_of_rxpro_is_in_an_import_circle(installed: Path) -> None:
    graph = _graph(installed)
    circles = []
    for importer in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(importer):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                circles.append((importer, *back))
    assert circles == []


def test_the_contracts_fail_on_a_forbidden_import(installed: Path, tmp_path: Path) -> None:
    """The check can fail: an operator importing the hub breaks it."""
    broken = tmp_path / "broken"
    shutil.copytree(installed, broken)
    (broken / "rxpro" / "operators" / "_bad.py").write_text("from rxpro import _hub\n", encoding="utf-8")
    config = tmp_path / "importlinter.ini"
    config.write_text(_contracts(_graph(broken)), encoding="utf-8")
    result = _lint(broken, config)
    assert result.returncode != 0 and "Operators use no private core module" in result.stdout, result.stdout


#: the push path: socket -> ccxt's handler -> client hook -> router -> stream -> observers
PUSH_PATH = ("_client.py", "_router.py", "_stream.py", "_hub.py", "_values.py", "_mixin.py", "_accessor.py")


def test_no_function_of_the_push_path_is_longer_than_60_lines() -> None:
    import ast

    long = []
    for name in PUSH_PATH:
        tree = ast.parse((ROOT / "rxpro" / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body[1:] if ast.get_docstring(node) else node.body
                length = (body[-1].end_lineno or 0) - body[0].lineno + 1 if body else 0
                if length > 60:
                    long.append(f"{name}:{node.lineno} {node.name}: {length} lines")
    assert long == []
