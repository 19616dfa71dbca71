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


def test_the_quick_start_runs_offline_as_written(tmp_path: Path) -> None:
    import re
    import subprocess
    import sys

    readme = (ROOT / "README.md").read_text()
    code = re.search(r"## Quick start\n\n```python\n(.*?)```", readme, re.S).group(1)  # type: ignore[union-attr]
    script = tmp_path / "quickstart.py"
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("{'symbol': 'BTC/USDT'")  # the awaitable's ticker
    throttled = [l for l in lines[1:] if re.fullmatch(r"2024-08-0\dT[\d:.]+Z \d+\.\d+", l)]
    assert 5 <= len(throttled) <= 32  # 3 s of a 100 ms throttle: at most ~31, fewer on a loaded machine
    assert "error" not in result.stdout and "Traceback" not in result.stderr
