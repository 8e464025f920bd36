"""The LEAN projects type-check against quantconnect-stubs the way LEAN's own syntax check does."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LEAN_DIR = REPO_ROOT / "lean_algorithms"
SHARED_DIR = LEAN_DIR / "shared"

# The flags of QuantConnect/Lean's run_syntax_check.py (minus its cache-only flags); LEAN runs
# Python 3.11. The shared folder is on MYPYPATH because exported projects hold a copy of
# signal_data.py next to main.py, where `from signal_data import ...` finds it.
LEAN_MYPY_FLAGS = (
    "--show-error-codes",
    "--no-error-summary",
    "--no-color-output",
    "--ignore-missing-imports",
    "--check-untyped-defs",
    "--python-version",
    "3.11",
)


def run_mypy(files: list[Path], config_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run mypy with LEAN's flags on `files`, ignoring any repo-level mypy configuration."""
    config = config_dir / "mypy.ini"
    config.write_text("[mypy]\n", encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(config),
        "--cache-dir",
        str(REPO_ROOT / ".mypy_cache"),
        *LEAN_MYPY_FLAGS,
        *(str(path) for path in files),
    ]
    env = {**os.environ, "MYPYPATH": str(SHARED_DIR)}
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT)


def lean_projects() -> list[Path]:
    """Project folders (a main.py each); each is checked apart, as each runs apart."""
    return sorted(path.parent for path in LEAN_DIR.glob("*/main.py") if path.parent != SHARED_DIR)


@pytest.mark.parametrize("project", lean_projects(), ids=lambda path: path.name)
def test_lean_project_type_checks_against_quantconnect_stubs(project: Path, tmp_path: Path) -> None:
    files = sorted(project.rglob("*.py")) + sorted(SHARED_DIR.rglob("*.py"))
    result = run_mypy(files, tmp_path)
    assert result.returncode == 0, f"mypy failed:\n{result.stdout}{result.stderr}"


def test_there_is_a_lean_project_to_check() -> None:
    assert {LEAN_DIR / "SignalWeights", LEAN_DIR / "BracketSignals"} <= set(lean_projects())


def test_type_check_reports_misused_lean_api(tmp_path: Path) -> None:
    broken = tmp_path / "project" / "main.py"
    broken.parent.mkdir()
    broken.write_text(
        textwrap.dedent(
            """\
            from AlgorithmImports import *
            from signal_data import SignalWeightData, no_such_helper


            class Broken(QCAlgorithm):
                def initialize(self) -> None:
                    self.set_cash("a lot")
                    self.add_crypto(42)
            """
        ),
        encoding="utf-8",
    )
    result = run_mypy([broken], tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert '"set_cash" of "QCAlgorithm"' in output  # the stubs are really in use
    assert '"add_crypto" of "QCAlgorithm"' in output
    assert 'Module "signal_data" has no attribute "no_such_helper"' in output  # shared resolves
