"""Fixtures for running the LEAN algorithms on the test double (lean_double.py, lean_replay.py)."""

from __future__ import annotations

import types
from pathlib import Path

import lean_double
import pytest
from lean_replay import LoadAlgorithm


@pytest.fixture
def load_algorithm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> LoadAlgorithm:
    """Import a project's main.py against the double; its data folder is tmp_path/data."""
    lean_double.install(monkeypatch)
    monkeypatch.setattr(lean_double.Globals, "data_folder", str(tmp_path / "data"))
    shared = lean_double.LEAN_DIR / "shared"
    lean_double.load(monkeypatch, shared / "signal_data.py", "signal_data")
    lean_double.load(monkeypatch, shared / "algorithm_setup.py", "algorithm_setup")

    def load(project: str) -> types.ModuleType:
        main = lean_double.LEAN_DIR / project / "main.py"
        return lean_double.load(monkeypatch, main, f"{project.lower()}_main_under_test")

    return load
