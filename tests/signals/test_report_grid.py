"""The grid report: one self-contained HTML file with every section."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from signals.portfolio import return_stats, survivor_filter
from signals.report_grid import (
    SECTIONS,
    expand_parameters,
    parameter_columns,
    write_grid_report,
)
from signals.walk_forward import walk_forward

DAYS = pd.date_range("2023-01-01", periods=200, freq="D", tz="UTC")
FAST = [5, 10, 20]
SLOW = [50, 100]


def grid() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six cells (fast x slow) on one symbol: their daily returns and their statistics."""
    rng = np.random.default_rng(8)
    ids = [f"ma_{f}_{s}|BTCUSDT" for f in FAST for s in SLOW]
    returns = pd.DataFrame(rng.normal(0.001, 0.01, (len(DAYS), len(ids))), DAYS, ids)
    stats = return_stats(returns).assign(
        fast=[f for f in FAST for _ in SLOW], slow=[s for _ in FAST for s in SLOW]
    )
    return stats, returns


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    stats, returns = grid()
    result = walk_forward(
        returns,
        train="60D",
        step="30D",
        performance_filter=survivor_filter("returns_only"),
        method="min_variance",
    )
    path = tmp_path_factory.mktemp("report") / "runs" / "grid.html"
    assert write_grid_report(path, stats, returns, result, parameters=("fast", "slow")) == path
    return path.read_text(encoding="utf-8")


def _plots(page: str) -> dict[str, list]:
    """Each plot's div id and its traces, read back from the Plotly.newPlot calls."""
    calls = re.findall(r'Plotly\.newPlot\(\s*"([\w-]+)",\s*(\[.*?\]),\s*\{', page, re.S)
    return {div: json.loads(traces) for div, traces in calls}


def _values(encoded: list | dict) -> np.ndarray:
    """A trace's array as plotly wrote it: a JSON list, or typed base64 (`bdata`)."""
    if isinstance(encoded, list):
        return np.asarray(encoded)
    flat = np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=encoded["dtype"])
    shape = encoded.get("shape")
    return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat


def test_the_report_is_written_with_every_section(report: str) -> None:
    for key, title in SECTIONS.items():
        assert f"<section id='{key}'><h2>{title}</h2>" in report


def test_the_report_is_self_contained_with_plotly_js_inline(report: str) -> None:
    assert not re.search(r"<script[^>]*\bsrc\s*=", report, re.I)  # no external script at all
    assert not re.search(r"<link[^>]*href\s*=\s*['\"]https?:", report, re.I)
    assert re.search(r"<script type='text/javascript'>/\*\*\s*\* plotly\.js v\d", report)


def test_the_report_draws_each_plot_from_the_inputs(report: str) -> None:
    stats, returns = grid()
    plots = _plots(report)
    assert set(plots) == {
        "equity-curves-plot",
        "drawdowns-plot",
        "parameter-heatmap-plot",
        "correlation-plot",
        "walk-forward-equity",
        "walk-forward-sharpe",
    }
    best = stats["sharpe"].idxmax()
    assert plots["equity-curves-plot"][0]["name"] == best
    final = (1 + returns[best]).prod()
    assert _values(plots["equity-curves-plot"][0]["y"])[-1] == pytest.approx(final)
    heat = plots["parameter-heatmap-plot"][0]
    assert heat["x"] == ["5", "10", "20"] and heat["y"] == ["50", "100"]
    assert _values(heat["z"])[1, 2] == pytest.approx(stats.loc["ma_20_100|BTCUSDT", "sharpe"])
    names = [trace["name"] for trace in plots["walk-forward-equity"]]
    assert names == ["in_sample", "out_of_sample"]


def test_a_report_without_walk_forward_or_parameters_says_so(tmp_path: Path) -> None:
    stats, returns = grid()
    page = write_grid_report(
        tmp_path / "plain.html", stats.drop(columns=["fast", "slow"]), returns
    ).read_text(encoding="utf-8")
    assert "No walk-forward run was given" in page
    assert "A heat map needs two parameter columns; found []." in page


def test_parameter_columns_are_the_varying_non_statistic_columns() -> None:
    stats, _ = grid()
    assert parameter_columns(stats.assign(symbol="BTCUSDT", trades=3.0)) == ["fast", "slow"]


def test_grid_parameters_stored_as_json_become_heat_map_axes() -> None:
    stats, _ = grid()
    stored = stats.drop(columns=["fast", "slow"]).assign(
        parameters=[
            json.dumps({"fast": f, "slow": s}) for f, s in zip(stats.fast, stats.slow, strict=True)
        ],
        strategy_id=stats.index.str.split("|").str[0],
        run_id="r1",
    )
    expanded = expand_parameters(stored)
    pd.testing.assert_frame_equal(expanded[["fast", "slow"]], stats[["fast", "slow"]])
    assert parameter_columns(expanded) == ["fast", "slow"]


def test_an_unknown_statistic_or_survivor_is_rejected(tmp_path: Path) -> None:
    stats, returns = grid()
    with pytest.raises(ValueError, match="stats: no column 'omega'"):
        write_grid_report(tmp_path / "x.html", stats, returns, stat="omega")
    with pytest.raises(ValueError, match=r"survivors: no return column for \['nope'\]"):
        write_grid_report(tmp_path / "x.html", stats, returns, survivors=["nope"])
