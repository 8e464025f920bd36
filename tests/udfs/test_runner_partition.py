"""The per-partition function every runner ships, its plan, and picking a runner by target."""

from __future__ import annotations

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from support.bars import source_rows

from udfs import FeatureSpec, compute_features, get_feature, register_feature
from udfs.runners import RUNNER_MODULES, runner_for
from udfs.runners import duckdb as duckdb_runner
from udfs.runners import postgres as postgres_runner
from udfs.runners.partition import FeaturePlan, compute_arrays, group_function, partition_frame


def partition_rows(random_walk_bars, n: int = 300) -> pd.DataFrame:
    """One partition as an engine hands it over: key columns, bars, available_at."""
    return source_rows(random_walk_bars(n, seed=5), "BTCUSD", "1m", pd.Timedelta(minutes=1))


def test_plan_groups_columns_by_spec_in_request_order():
    plan = FeaturePlan.resolve(["cci", "macdsignal", "rsi_14", "macd"])
    assert plan.columns == ("cci", "macdsignal", "rsi_14", "macd")
    assert [(spec.name, cols) for spec, cols in plan.groups] == [
        ("cci_14", ("cci",)),
        ("macd_12_26_9", ("macdsignal", "macd")),
        ("rsi_14", ("rsi_14",)),
    ]
    assert plan.inputs == ("open", "high", "low", "close", "volume")
    assert plan.output_columns[:4] == ("symbol", "timeframe", "ts", "available_at")
    assert plan.max_warmup == 33 and set(plan.dtypes.values()) == {"double"}


def test_fingerprint_follows_the_declarations(restore_registry):
    before = FeaturePlan.resolve(None).fingerprint()
    assert FeaturePlan.resolve(None).fingerprint() == before
    assert FeaturePlan.resolve(["rsi_14"]).fingerprint() != before
    rsi = get_feature("rsi_14")
    register_feature(
        FeatureSpec(rsi.name, rsi.inputs, dict(rsi.outputs), rsi.warmup + 1, True, rsi.func)
    )
    assert FeaturePlan.resolve(None).fingerprint() != before


def test_compute_arrays_is_compute_features(random_walk_bars):
    bars = random_walk_bars(2000, seed=9)
    plan = FeaturePlan.resolve(None)
    inputs = {column: bars[column].to_numpy() for column in bars.columns}
    got = compute_arrays(plan, bars.index.tz_localize(None).to_numpy(), inputs)
    want = compute_features(bars)
    assert list(got) == list(want.columns)
    for column in want.columns:
        np.testing.assert_array_equal(got[column], want[column].to_numpy())


def test_partition_frame_sorts_any_row_order_and_column_case(random_walk_bars):
    rows = partition_rows(random_walk_bars)
    rows.loc[40, "available_at"] = pd.Timestamp("2024-01-03")  # a late bar
    plan = FeaturePlan.resolve(None)
    shuffled = rows.sample(frac=1.0, random_state=1).rename(columns=str.upper)
    got = partition_frame(shuffled, plan, upper_case=True)
    assert list(got.columns) == [column.upper() for column in plan.output_columns]
    np.testing.assert_array_equal(got["TS"].to_numpy(), rows["ts"].to_numpy())
    known = rows["available_at"].cummax().to_numpy()
    np.testing.assert_array_equal(got["AVAILABLE_AT"].to_numpy(), known)
    want = compute_features(rows.set_index("ts")[["open", "high", "low", "close", "volume"]])
    for column in plan.columns:
        np.testing.assert_array_equal(got[column.upper()].to_numpy(), want[column].to_numpy())


def test_partition_frame_errors_name_the_partition_and_columns(random_walk_bars):
    rows = partition_rows(random_walk_bars, 50)
    plan = FeaturePlan.resolve(None)
    with pytest.raises(ValueError, match=r"missing columns \['close'\]; received columns"):
        partition_frame(rows.drop(columns="close"), plan)
    doubled = pd.concat([rows, rows.iloc[[3]]])
    with pytest.raises(ValueError, match="^partition symbol='BTCUSD' timeframe='1m': .*ascending"):
        partition_frame(doubled, plan)


def test_group_function_survives_pickling_with_a_run_time_feature(
    random_walk_bars, restore_registry
):
    register_feature(
        FeatureSpec(
            name="spread",
            inputs=("high", "low"),
            outputs={"spread": "double"},
            warmup=0,
            causal=True,
            func=lambda bars: {"spread": bars["high"] - bars["low"]},
        )
    )
    shipped = cloudpickle.dumps(group_function(FeaturePlan.resolve(["spread"])))
    rows = partition_rows(random_walk_bars, 20)
    got = cloudpickle.loads(shipped)(rows)
    np.testing.assert_array_equal(got["spread"], (rows["high"] - rows["low"]).to_numpy())


def test_runner_for_picks_the_engine_of_a_settings_target():
    assert runner_for("duckdb") is duckdb_runner.run_features
    assert runner_for("postgres") is postgres_runner.run_features
    assert set(RUNNER_MODULES) == {"duckdb", "postgres", "spark", "snowflake"}
    with pytest.raises(ValueError, match=r"no feature runner for target 'oracle'; known targets"):
        runner_for("oracle")
