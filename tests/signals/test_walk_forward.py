"""Walk-forward re-selection: timing, no look-ahead, IS/OOS accounting and signal rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from signals.portfolio import survivor_filter
from signals.selection import PerformanceFilter
from signals.walk_forward import (
    PORTFOLIO_WEIGHTS_TABLE,
    SUMMARY_STATS,
    WEIGHT_COLUMNS,
    walk_forward,
    weights_to_signal_rows,
    write_portfolio_weights,
)
from warehouse.columns import SIGNAL_WEIGHTS_COLUMNS

START = pd.Timestamp("2023-01-01", tz="UTC")
DAY = pd.Timedelta(days=1)
SECOND = pd.Timedelta(seconds=1)
RETURNS_ONLY = survivor_filter("returns_only")


def noise(days: int, columns: list[str], seed: int = 0, mean: float = 0.001) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range(START, periods=days, freq="D")
    return pd.DataFrame(rng.normal(mean, 0.01, (days, len(columns))), index=index, columns=columns)


def regime_switch() -> pd.DataFrame:
    """`a|X` earns for 60 days then loses; `b|Y` the reverse (a +-0.5% wiggle on +-1%)."""
    wiggle = 0.005 * np.tile([1.0, -1.0], 60)
    trend = np.where(np.arange(120) < 60, 0.01, -0.01)
    index = pd.date_range(START, periods=120, freq="D")
    return pd.DataFrame({"a|X": trend + wiggle, "b|Y": -trend + wiggle}, index=index)


def day(k: int) -> pd.Timestamp:
    return START + k * DAY


# --- timing -----------------------------------------------------------------------------------


def test_decisions_come_every_step_after_the_first_window_and_hold_after_the_latency() -> None:
    result = walk_forward(noise(100, ["a", "b", "c"]), train="30D", step="20D", method="equal")
    windows = result.windows
    assert list(windows["decided_at"]) == [day(30), day(50), day(70), day(90)]
    assert list(windows["valid_from"]) == [
        day(30) + SECOND,
        day(50) + SECOND,
        day(70) + SECOND,
        day(90) + SECOND,
    ]
    assert list(windows["valid_to"][:-1]) == list(windows["valid_from"][1:])
    assert pd.isna(windows["valid_to"].iloc[-1])  # the latest decision holds until superseded
    assert list(windows["reference_bar"]) == [day(29), day(49), day(69), day(89)]
    assert list(result.weights.columns) == list(WEIGHT_COLUMNS)
    assert len(result.weights) == 12 and np.allclose(result.weights["weight"], 1 / 3)


def test_a_decision_is_taken_once_the_last_bar_has_closed() -> None:
    result = walk_forward(noise(90, ["a"]), train="30D", step="30D", method="equal")
    assert list(result.windows["decided_at"]) == [day(30), day(60), day(90)]  # day 89 closed


def test_a_test_window_shorter_than_the_step_ends_each_decision_early() -> None:
    r = noise(100, ["a", "b"])
    short = walk_forward(r, train="30D", step="20D", test="10D", method="equal").windows
    assert list(short["valid_to"]) == list(short["valid_from"] + pd.Timedelta("10D"))
    long = walk_forward(r, train="30D", step="20D", test="45D", method="equal").windows
    assert list(long["valid_to"][:-1]) == list(long["valid_from"][1:])
    assert long["valid_to"].iloc[-1] == long["valid_from"].iloc[-1] + pd.Timedelta("45D")


def test_returns_shorter_than_the_train_window_are_rejected() -> None:
    with pytest.raises(ValueError, match="shorter than the train window 60 days"):
        walk_forward(noise(40, ["a"]), train="60D", step="10D", method="equal")


# --- point in time ----------------------------------------------------------------------------


def _decisions_until(result, moment: pd.Timestamp) -> pd.DataFrame:
    weights = result.weights[result.weights["decided_at"] <= moment]
    return weights.drop(columns="valid_to").reset_index(drop=True)


def test_perturbing_returns_from_a_decision_date_on_cannot_change_its_weights() -> None:
    r = noise(240, [f"s{k}|X" for k in range(8)], seed=4)
    options = {
        "train": "90D",
        "step": "30D",
        "performance_filter": RETURNS_ONLY,
        "method": "max_sharpe",
        "max_weight": 0.5,
    }
    base = walk_forward(r, **options)
    decided = base.windows["decided_at"].iloc[2]
    later = r.index >= decided
    perturbed = r.copy()
    perturbed.loc[later] = -3 * r.loc[later] + 0.02  # a different future entirely
    after = walk_forward(perturbed, **options)
    pd.testing.assert_frame_equal(_decisions_until(base, decided), _decisions_until(after, decided))
    # the control: the same change one day earlier does reach that decision
    earlier = r.copy()
    earlier.loc[r.index >= decided - DAY] = -3 * r.loc[r.index >= decided - DAY] + 0.02
    moved = walk_forward(earlier, **options)
    assert not _decisions_until(base, decided).equals(_decisions_until(moved, decided))


def test_a_run_on_truncated_data_replays_the_same_decisions() -> None:
    r = noise(240, [f"s{k}|X" for k in range(6)], seed=9)
    options = {
        "train": "90D",
        "step": "30D",
        "performance_filter": RETURNS_ONLY,
        "method": "greedy",
        "max_correlation": 0.6,
    }
    full = walk_forward(r, **options)
    cut = r.index[149]  # the decision at day 150 reads days 60..149: it is in the replay
    replay = walk_forward(r.loc[:cut], **options)
    last = replay.windows["decided_at"].iloc[-1]
    assert last == cut + DAY
    pd.testing.assert_frame_equal(_decisions_until(full, last), _decisions_until(replay, last))


# --- survivors --------------------------------------------------------------------------------


def test_each_window_keeps_the_survivors_of_its_own_training_data() -> None:
    result = walk_forward(
        regime_switch(), train="30D", step="30D", performance_filter=RETURNS_ONLY, method="equal"
    )
    held = result.weights.groupby("decided_at")["candidate"].apply(list)
    assert held.to_dict() == {
        day(30): ["a|X"],
        day(60): ["a|X"],
        day(90): ["b|Y"],
        day(120): ["b|Y"],
    }
    assert list(result.windows["turnover"]) == [1.0, 0.0, 2.0, 0.0]


def test_a_filter_on_trade_statistics_is_rejected_by_name() -> None:
    with pytest.raises(ValueError, match=r"\['profit_factor', 'trades', 'win_rate'\] are not"):
        walk_forward(
            regime_switch(), train="30D", step="30D", performance_filter=PerformanceFilter()
        )


def test_a_candidate_without_enough_history_waits_for_it() -> None:
    r = noise(120, ["a", "b", "late"])
    r.loc[r.index < day(50), "late"] = np.nan
    windows = walk_forward(r, train="30D", step="30D", method="equal").windows
    assert list(windows["candidates"]) == [2, 2, 3, 3]  # from the window of days 60..89 on


def test_an_infeasible_decision_names_its_date() -> None:
    with pytest.raises(ValueError, match="walk-forward decision at 2023-01-31 00:00:00"):
        walk_forward(noise(60, ["a", "b", "c"]), train="30D", step="10D", max_weight=0.2)


# --- in-sample and out-of-sample --------------------------------------------------------------


def test_daily_returns_follow_the_decision_valid_at_each_days_start() -> None:
    r = noise(150, ["a|X", "b|X", "c|X"], seed=2)
    result = walk_forward(
        r,
        train="40D",
        step="25D",
        test="15D",
        performance_filter=RETURNS_ONLY,
        method="min_variance",
    )
    weights, windows = result.weights, result.windows
    assert (windows["members"] == 0).any()  # cash decisions are part of the accounting
    for d in r.index:
        live = weights[(weights["valid_from"] <= d) & (weights["valid_to"] > d)]
        expected = float(r.loc[d, live["candidate"]].to_numpy() @ live["weight"].to_numpy())
        oos = result.returns.loc[d, "out_of_sample"]
        if (windows["valid_from"] <= d).any():
            assert oos == pytest.approx(expected, abs=1e-15)
        else:
            assert np.isnan(oos)
        later = windows["decided_at"][windows["decided_at"] > d]
        is_ = result.returns.loc[d, "in_sample"]
        if later.empty or d < later.min() - pd.Timedelta("40D"):
            assert np.isnan(is_)
        else:
            fit = weights[weights["decided_at"] == later.min()]
            expected = float(r.loc[d, fit["candidate"]].to_numpy() @ fit["weight"].to_numpy())
            assert is_ == pytest.approx(expected, abs=1e-15)


def test_with_zero_latency_a_decision_earns_from_its_own_day() -> None:
    r = noise(60, ["a", "b"])
    late = walk_forward(r, train="30D", step="10D", method="equal").returns["out_of_sample"]
    now = walk_forward(r, train="30D", step="10D", method="equal", latency="0s")
    assert np.isnan(late[day(30)]) and late[day(31)] == pytest.approx(r.loc[day(31)].mean())
    assert now.returns.loc[day(30), "out_of_sample"] == pytest.approx(r.loc[day(30)].mean())


def test_overfitting_shows_as_in_sample_sharpe_far_above_out_of_sample() -> None:
    r = noise(540, [f"n{k}|X" for k in range(30)], seed=21, mean=0.0)  # no edge anywhere
    result = walk_forward(r, train="90D", step="30D", method="max_sharpe", max_weight=0.3)
    summary = result.summary
    assert list(summary.index) == ["in_sample", "out_of_sample"]
    assert set(SUMMARY_STATS) <= set(summary.columns)
    assert summary.loc["in_sample", "sharpe"] > 3
    assert summary.loc["out_of_sample", "sharpe"] < summary.loc["in_sample", "sharpe"] - 2
    windows = result.windows
    assert (windows["in_sample_sharpe"] > windows["out_of_sample_sharpe"]).mean() > 0.8


# --- signal rows and the warehouse table ------------------------------------------------------


def test_signal_rows_publish_each_decision_and_zero_what_it_drops() -> None:
    result = walk_forward(
        regime_switch(), train="30D", step="30D", performance_filter=RETURNS_ONLY, method="equal"
    )
    rows = weights_to_signal_rows(result.weights, "pf")
    assert list(rows.columns) == ["portfolio_id", "candidate_id", *SIGNAL_WEIGHTS_COLUMNS]
    got = [
        tuple(row)
        for row in rows[
            ["symbol", "strategy_id", "signal_timestamp", "timestamp", "signal"]
        ].itertuples(index=False)
    ]
    assert got == [
        ("X", "a", day(30) + SECOND, day(29), 1.0),
        ("X", "a", day(60) + SECOND, day(59), 1.0),
        ("X", "a", day(90) + SECOND, day(89), 0.0),
        ("Y", "b", day(90) + SECOND, day(89), 1.0),
        ("Y", "b", day(120) + SECOND, day(119), 1.0),
    ]


def test_signal_rows_zero_a_decision_when_its_test_window_ends() -> None:
    result = walk_forward(noise(60, ["s|A"]), train="30D", step="20D", test="5D", method="equal")
    rows = weights_to_signal_rows(result.weights, "pf")
    assert list(rows["signal"]) == [1.0, 0.0, 1.0, 0.0]
    assert list(rows["signal_timestamp"]) == [
        day(30) + SECOND,
        day(35) + SECOND,
        day(50) + SECOND,
        day(55) + SECOND,
    ]
    assert list(rows["timestamp"]) == [day(29), day(29), day(49), day(49)]


def test_a_bare_candidate_id_is_a_symbol_of_the_portfolio_itself() -> None:
    result = walk_forward(noise(40, ["ETHUSDT"]), train="30D", step="10D", method="equal")
    rows = weights_to_signal_rows(result.weights, "pf")
    assert set(rows["symbol"]) == {"ETHUSDT"} and set(rows["strategy_id"]) == {"pf"}


def test_a_weights_history_without_its_columns_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"missing column\(s\) \['reference_bar'\]"):
        weights_to_signal_rows(
            pd.DataFrame(columns=["decided_at", "valid_from", "valid_to", "candidate", "weight"]),
            "pf",
        )


def test_portfolio_weights_are_written_and_a_rerun_replaces_only_that_portfolio(conn) -> None:
    result = walk_forward(
        regime_switch(), train="30D", step="30D", performance_filter=RETURNS_ONLY, method="equal"
    )
    rows = weights_to_signal_rows(result.weights, "pf")
    other = weights_to_signal_rows(result.weights, "other").head(2)
    assert write_portfolio_weights(conn, other, "other") == 2
    assert write_portfolio_weights(conn, rows, "pf") == 5
    assert write_portfolio_weights(conn, rows, "pf") == 5
    counts = conn.execute(
        f"select portfolio_id, count(*) from {PORTFOLIO_WEIGHTS_TABLE} group by 1 order by 1"
    ).fetchall()
    assert counts == [("other", 2), ("pf", 5)]
    first = conn.execute(
        f"select symbol, strategy_id, signal_timestamp, timestamp, signal "
        f"from {PORTFOLIO_WEIGHTS_TABLE} where portfolio_id = 'pf' order by signal_timestamp"
    ).fetchall()[0]
    assert first == (
        "X",
        "a",
        pd.Timestamp("2023-01-31 00:00:01").to_pydatetime(),
        pd.Timestamp("2023-01-30").to_pydatetime(),
        1.0,
    )
    with pytest.raises(ValueError, match=r"portfolio_id \['other'\] differ from 'pf'"):
        write_portfolio_weights(conn, other, "pf")
