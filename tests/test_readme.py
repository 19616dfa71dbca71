"""The README's two commands are the ones CI runs and users paste."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command_exactly() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    command = ci[-1]
    assert "pip install -e '.[test]'" in command and "pytest" in command
    assert f"```bash\n{command}\n```" in readme


def test_readme_main_command_runs_the_demo() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "```bash\npython3 -m venv .venv && . .venv/bin/activate && pip install -e . && python -m rxpro demo\n```" in readme
