"""The point-in-time replay property, and that the harness catches a look-ahead feature."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from orchestration.replay import default_cutoffs, replay_at
from orchestration.run import materialize_graph
from udfs.registry import get_feature, register_feature
from warehouse.engines.duckdb import connect
from warehouse.settings import Settings

pytestmark = pytest.mark.slow


def test_replay_matches_the_batch_run_at_three_publication_moments(demo_settings):
    cutoffs = default_cutoffs(demo_settings, 3)
    assert len(cutoffs) == 3
    for cutoff in cutoffs:
        result = replay_at(demo_settings, cutoff)
        assert result.equal, [(d.table, d.only_in_batch, d.only_in_replay) for d in result.diffs]
        assert all(d.batch_rows > 0 for d in result.diffs)


@pytest.fixture
def macd_reading_the_next_bar():
    """Swap the MACD UDF for one computed on the next bar's close (a one-bar leak)."""
    original = get_feature("macd_12_26_9")

    def leaky(bars: pd.DataFrame):
        shifted = bars.copy()
        shifted["close"] = bars["close"].shift(-1)
        return original.func(shifted)

    register_feature(dataclasses.replace(original, func=leaky))
    yield
    register_feature(original)


def test_replay_catches_a_feature_that_reads_the_next_bar(tmp_path, macd_reading_the_next_bar):
    settings = Settings.from_env(home=tmp_path / "leaky")
    assert materialize_graph(settings, land_sample_data=True).success
    with connect(settings.duckdb_path, read_only=True) as conn:
        assert conn.sql("select count(*) from signals.signal_weights").fetchall()[0][0] > 0
    result = replay_at(settings, default_cutoffs(settings, 1)[0])
    assert not result.equal
    weights = next(d for d in result.diffs if d.table == "signals.signal_weights")
    assert len(weights.only_in_batch) + len(weights.only_in_replay) > 0


def test_replay_matches_at_a_portfolio_decision_and_just_before_it(demo_settings):
    """The declared portfolio's weights appear in the replay exactly when published."""
    with connect(demo_settings.duckdb_path, read_only=True) as conn:
        moments = conn.execute(
            "select distinct signal_timestamp from backtests.portfolio_weights "
            "where signal > 0 order by 1"
        ).fetchall()
    assert len(moments) >= 2
    decision = pd.Timestamp(moments[1][0])
    for cutoff in (decision, decision - pd.Timedelta(seconds=1)):
        result = replay_at(demo_settings, cutoff.to_pydatetime())
        assert result.equal, [(d.table, d.only_in_batch, d.only_in_replay) for d in result.diffs]
