"""The `signalyard` command line: the contract commands, their JSON and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration.cli import main

GOOD = "symbol,ts,open,high,low,close,volume\nBTCUSDT,2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n"
BAD = "symbol,ts,open,high,low,close,volume\nBTCUSDT,2024-01-01T00:00:00Z,1,0.5,2,1.5,10\n"


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_land_load_status_round_trip_with_a_quarantined_file(tmp_path: Path, capsys):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "good.csv").write_text(GOOD)
    (drop / "bad.csv").write_text(BAD)
    home = ["--home", str(tmp_path / "home")]

    code, out, _ = _run(
        capsys, *home, "land", str(drop), "--vendor", "acme", "--dataset", "bars_1m", "--json"
    )
    assert code == 0 and len(json.loads(out)["landed"]) == 2
    code, out, _ = _run(
        capsys, *home, "land", str(drop), "--vendor", "acme", "--dataset", "bars_1m"
    )
    assert code == 0 and "0 file(s) landed, 2 already present" in out

    code, out, _ = _run(capsys, *home, "load", "--json")
    payload = json.loads(out)
    assert code == 1  # something was quarantined
    assert [r["rows"] for r in payload["loaded"]] == [1]
    [quarantined] = payload["quarantined"]
    assert "bad.csv: row 2, column 'high': high is below low" in quarantined["reason"]

    code, out, _ = _run(capsys, *home, "status", "--json")
    status = json.loads(out)
    assert code == 0
    assert status["landed"] == {"acme/bars_1m": 2}
    assert status["rows"]["raw.bars_1m"] == 1
    assert [q["key"].rsplit("/", 1)[-1] for q in status["quarantined"]] == ["bad.csv"]


def test_land_rejects_an_unknown_dataset_with_exit_code_2(tmp_path: Path, capsys):
    (tmp_path / "a.csv").write_text(GOOD)
    code, _, err = _run(
        capsys,
        "--home",
        str(tmp_path),
        "land",
        str(tmp_path / "a.csv"),
        "--vendor",
        "acme",
        "--dataset",
        "nope",
    )
    assert code == 2 and "unknown dataset 'nope'" in err


def test_an_unsupported_target_is_refused(tmp_path: Path, capsys):
    code, _, err = _run(capsys, "--home", str(tmp_path), "--target", "snowflake", "status")
    assert code == 2 and "not available in this build" in err


@pytest.mark.slow
def test_export_lean_writes_a_workspace_from_the_warehouse(demo_settings, tmp_path, capsys):
    code, out, _ = _run(
        capsys,
        "--home",
        str(demo_settings.home),
        "export",
        "lean",
        "--out",
        str(tmp_path / "ws"),
        "--json",
    )
    payload = json.loads(out)
    assert code == 0 and payload["rows"] > 0
    assert (tmp_path / "ws" / "lean.json").is_file()


@pytest.mark.slow
def test_status_reports_the_demo_warehouse(demo_settings, capsys):
    code, out, _ = _run(capsys, "--home", str(demo_settings.home), "status")
    assert code == 0
    assert "synth_exchange/bars_1m" in out and "signals.signal_weights" in out


FEEDBACK = Path(__file__).resolve().parents[1] / "signals" / "fixtures" / "lean_results"


def test_feedback_loads_lean_orders_and_fills_into_the_warehouse(tmp_path: Path, capsys):
    home = ["--home", str(tmp_path)]
    code, out, _ = _run(capsys, *home, "feedback", "lean", str(FEEDBACK), "--json")
    payload = json.loads(out)
    assert code == 0 and payload["orders"] == 6 and payload["fills"] == 4
    code, out, _ = _run(capsys, *home, "status", "--json")
    rows = json.loads(out)["rows"]
    assert rows["lean.orders"] == 6 and rows["lean.fills"] == 4


def test_publish_without_credentials_fails_clearly(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.delenv("QC_USER_ID", raising=False)
    monkeypatch.delenv("QC_API_TOKEN", raising=False)
    code, _, err = _run(capsys, "--home", str(tmp_path), "publish", "qc")
    assert code == 2 and "QC_USER_ID" in err
