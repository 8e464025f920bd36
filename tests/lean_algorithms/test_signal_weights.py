"""SignalWeights on the LEAN test double: rows -> weighted insights -> holdings, no look-ahead."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from lean_double import Bar
from lean_replay import LoadAlgorithm, Replay, write_table

HEADER = "symbol,signal_timestamp,timestamp,signal,strategy_id"
UNIVERSE = (
    "symbol,security_type,market,first_signal_timestamp,last_signal_timestamp\n"
    "BTCUSDT,crypto,binance,2024-01-02T10:00:00Z,2024-01-02T10:06:00Z\n"
    "ETHUSDT,crypto,binance,2024-01-02T10:00:00Z,2024-01-02T10:06:00Z\n"
)
# (symbol, signal_timestamp, timestamp, signal): BTC trades at 100, ETH at 50, cash 100000.
ROWS = [
    ("BTCUSDT", "2024-01-02T10:00:30Z", "2024-01-02T10:00:00Z", 0.25),
    ("ETHUSDT", "2024-01-02T10:00:30Z", "2024-01-02T10:00:00Z", -0.5),
    ("BTCUSDT", "2024-01-02T10:03:30Z", "2024-01-02T10:03:00Z", 0.0),
    ("ETHUSDT", "2024-01-02T10:04:30Z", "2024-01-02T10:04:00Z", 0.5),
    ("BTCUSDT", "2024-01-02T10:05:30.250000Z", "2024-01-02T10:05:00Z", -0.4),
]


def t(minute: int) -> datetime:
    """2024-01-02 10:<minute> UTC."""
    return datetime(2024, 1, 2, 10, minute)


def run_weights(load_algorithm: LoadAlgorithm, tmp_path: Path) -> Replay:
    """Write ROWS as the s1 weights table and replay SignalWeights over flat prices."""
    module = load_algorithm("SignalWeights")
    files = {"universe.csv": UNIVERSE}
    for symbol in ("BTCUSDT", "ETHUSDT"):
        lines = [f"{s},{st},{ts},{w},s1" for s, st, ts, w in ROWS if s == symbol]
        files[f"weights/{symbol.lower()}.csv"] = "\n".join([HEADER, *lines]) + "\n"
    write_table(tmp_path / "data", "signal_weights", "s1", files)
    btc, eth = Bar(100, 100, 100, 100), Bar(50, 50, 50, 50)
    path = {t(m): {"BTCUSDT": btc, "ETHUSDT": eth} for m in range(9)}
    replay = Replay(module.SignalWeightsAlgorithm, {"strategy_id": "s1"}, path)
    replay.run()
    return replay


def test_each_weight_row_is_delivered_once_never_before_its_signal_timestamp(
    load_algorithm: LoadAlgorithm, tmp_path: Path
) -> None:
    replay = run_weights(load_algorithm, tmp_path)
    delivered = []
    for time, r in replay.delivered:
        assert r.symbol is not None and r.symbol.underlying is not None  # linked to the traded
        delivered.append((r.symbol.underlying.value, r.time, time))
    assert len(delivered) == len(ROWS)
    for symbol, signal_timestamp, timestamp, _ in ROWS:
        available = datetime.fromisoformat(signal_timestamp.removesuffix("Z"))
        bar_time = datetime.fromisoformat(timestamp.removesuffix("Z"))
        [when] = [w for s, bar, w in delivered if (s, bar) == (symbol, bar_time)]
        assert available <= when <= available + timedelta(minutes=1)


def test_insights_carry_the_row_weights_and_directions(
    load_algorithm: LoadAlgorithm, tmp_path: Path
) -> None:
    replay = run_weights(load_algorithm, tmp_path)
    insights = sorted((time, i.symbol.value, i.direction, i.weight) for time, i in replay.insights)
    assert insights == [
        (t(1), "BTCUSDT", 1, 0.25),
        (t(1), "ETHUSDT", -1, 0.5),
        (t(4), "BTCUSDT", 0, 0.0),
        (t(5), "ETHUSDT", 1, 0.5),
        (t(6), "BTCUSDT", -1, 0.4),
    ]
    assert all(i.period == timedelta(minutes=2880) for _, i in replay.insights)


def test_holdings_follow_each_row_weight(load_algorithm: LoadAlgorithm, tmp_path: Path) -> None:
    replay = run_weights(load_algorithm, tmp_path)
    assert replay.holdings == {
        t(0): {},
        t(1): {},
        t(2): {"BTCUSDT": 250, "ETHUSDT": -1000},
        t(3): {"BTCUSDT": 250, "ETHUSDT": -1000},
        t(4): {"BTCUSDT": 250, "ETHUSDT": -1000},
        t(5): {"ETHUSDT": -1000},
        t(6): {"ETHUSDT": 1000},
        t(7): {"ETHUSDT": 1000, "BTCUSDT": -400},
        t(8): {"ETHUSDT": 1000, "BTCUSDT": -400},
    }
