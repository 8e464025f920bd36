"""The bundled sample data: real stocks from bokeh-sampledata, deterministic synthetic files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from warehouse.sample_data import CRYPTO_DAYS, CRYPTO_PAIRS, daily_stocks, write_sample_files


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):
    """The sample files written once for this module: dataset -> drop."""
    drops = write_sample_files(tmp_path_factory.mktemp("sample"))
    return {d.dataset: d for d in drops}


def test_daily_stocks_are_the_four_real_tickers_2000_to_2013():
    frame = daily_stocks()
    assert sorted(frame["symbol"].unique()) == ["AAPL", "GOOG", "IBM", "MSFT"]
    dates = pd.to_datetime(frame["ts"])
    assert dates.min().year == 2000 and dates.max().year == 2013
    assert (frame["adj_close"] > 0).all()


def test_sample_files_are_byte_for_byte_deterministic(sample, tmp_path: Path):
    first = list(sample.values())
    second = write_sample_files(tmp_path / "b")
    for one, two in zip(first, second, strict=True):
        files_one = sorted(p.relative_to(one.path) for p in one.path.rglob("*") if p.is_file())
        assert files_one == sorted(
            p.relative_to(two.path) for p in two.path.rglob("*") if p.is_file()
        )
        for name in files_one:
            assert (one.path / name).read_bytes() == (two.path / name).read_bytes()


def test_crypto_minutes_cover_every_pair_and_week_with_gaps_and_volatility_clusters(sample):
    drops = sample
    files = sorted(drops["bars_1m"].path.glob("*.csv.gz"))
    assert len(files) == len(CRYPTO_PAIRS) * CRYPTO_DAYS // 7  # one file per pair and week
    frame = pd.concat(pd.read_csv(f) for f in files if f.name.startswith("BTCUSDT"))
    assert len(frame) < CRYPTO_DAYS * 1440  # some minutes are missing
    returns = pd.Series(frame["close"]).pipe(lambda s: (s / s.shift()).apply("log")).dropna()
    # Volatility clustering: absolute returns are autocorrelated.
    assert returns.abs().autocorr(lag=1) > 0.05
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()


def test_short_interest_is_published_days_after_settlement(sample):
    drops = sample
    frame = pd.concat(pd.read_csv(f) for f in drops["short_interest"].path.glob("*.csv"))
    lag = pd.to_datetime(frame["publication_date"]) - pd.to_datetime(frame["settlement_date"])
    assert lag.min() >= pd.Timedelta(days=8)
