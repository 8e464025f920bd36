"""The bundled sample data: real daily stocks, synthetic crypto minutes, short interest."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

EQUITY_TICKERS = ("AAPL", "GOOG", "IBM", "MSFT")
CRYPTO_PAIRS = {
    "BTCUSDT": 42_000.0,
    "ETHUSDT": 2_300.0,
    "SOLUSDT": 100.0,
    "BNBUSDT": 310.0,
    "XRPUSDT": 0.62,
}
CRYPTO_START = date(2024, 1, 1)
CRYPTO_DAYS = 42
SEED = 20240101
# Bump when the generator changes: folders written by an older version are rewritten.
SAMPLE_VERSION = "2"


@dataclass(frozen=True)
class SampleDrop:
    """A folder of files for one vendor and dataset, ready for `land`."""

    vendor: str
    dataset: str
    path: Path


def _gzip_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes gzipped with mtime 0, so the same data always hashes the same."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as handle:
        handle.write(frame.to_csv(index=False).encode())
    return buffer.getvalue()


def daily_stocks() -> pd.DataFrame:
    """AAPL, GOOG, IBM, MSFT daily OHLCV with adjusted close, read from bokeh-sampledata."""
    source = resources.files("bokeh_sampledata") / "_data" / "stocks.csv.gz"
    with source.open("rb") as handle:
        frame = pd.read_csv(handle, compression="gzip")
    frame = frame[frame["Ticker"].isin(EQUITY_TICKERS)]
    frame = frame.rename(columns={"Ticker": "symbol", "Date": "ts", "Adj Close": "adj_close"})
    frame.columns = [c.lower() for c in frame.columns]
    return frame[["symbol", "ts", "open", "high", "low", "close", "volume", "adj_close"]]


def _crypto_minutes(pair: str, start_price: float, rng: np.random.Generator) -> pd.DataFrame:
    """GARCH(1,1) minute returns with a 24h volume/volatility cycle and occasional gaps."""
    n = CRYPTO_DAYS * 1440
    ts = pd.date_range(pd.Timestamp(CRYPTO_START), periods=n, freq="1min")
    minute_of_day = np.arange(n) % 1440
    # Busier when Europe and the US overlap (13:00-17:00 UTC), quiet in the Asian night.
    cycle = 1.0 + 0.6 * np.exp(-(((minute_of_day - 900) / 180.0) ** 2))
    omega, alpha, beta = 2e-8, 0.06, 0.92
    shocks = rng.standard_t(df=5, size=n) / np.sqrt(5 / 3)
    returns = np.empty(n)
    variance = omega / (1 - alpha - beta)
    for i in range(n):
        returns[i] = np.sqrt(variance) * cycle[i] * shocks[i]
        # The GARCH recursion sees the de-seasonalised return, so the cycle cannot explode it.
        variance = omega + alpha * (returns[i] / cycle[i]) ** 2 + beta * variance
    close = start_price * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[start_price], close[:-1]]) * np.exp(rng.normal(0, 2e-5, n))
    spread = np.minimum(
        np.abs(returns) + np.abs(rng.normal(0, np.sqrt(omega / (1 - alpha - beta)), n)), 0.2
    )
    high = np.maximum(open_, close) * (1 + 0.5 * spread * rng.random(n))
    low = np.minimum(open_, close) * (1 - 0.5 * spread * rng.random(n))
    volume = 50.0 * cycle * (1 + 200 * np.abs(returns)) * rng.lognormal(0, 0.4, n)
    frame = pd.DataFrame(
        {
            "symbol": pair,
            "ts": ts,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
        }
    )
    # Exchanges drop a handful of minutes now and then (maintenance, no trades).
    gap_starts = rng.choice(n, size=CRYPTO_DAYS // 3, replace=False)
    gaps = np.zeros(n, dtype=bool)
    for start in gap_starts:
        gaps[start : start + int(rng.integers(1, 15))] = True
    return frame[~gaps]


def _short_interest(stocks: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Twice-monthly short interest, published eight business days after settlement."""
    rows = []
    for symbol, bars in stocks.groupby("symbol"):
        volume = bars.set_index(pd.to_datetime(bars["ts"]))["volume"]
        month_ends = pd.date_range(volume.index[0], volume.index[-1], freq="BME")
        mids = pd.date_range(volume.index[0], volume.index[-1], freq="SMS") + pd.offsets.BDay(0)
        level = 0.02
        for settlement in sorted(set(month_ends) | set(mids.normalize())):
            adv = float(volume.loc[:settlement].tail(20).mean())
            level = float(np.clip(level * np.exp(rng.normal(0, 0.15)), 0.002, 0.2))
            rows.append(
                {
                    "symbol": symbol,
                    "settlement_date": settlement.date().isoformat(),
                    "publication_date": (settlement + pd.offsets.BDay(8)).date().isoformat(),
                    "short_interest": round(level * adv * 20),
                    "avg_daily_volume": round(adv),
                }
            )
    return pd.DataFrame(rows)


def write_sample_files(out_dir: Path) -> list[SampleDrop]:
    """Write every sample file under `out_dir` (deterministic bytes) and say what to land.

    The files depend only on the seed and SAMPLE_VERSION, so a folder already completed
    by this version is reused as it is.
    """
    equities = out_dir / "quandl_wiki" / "bars_1d"
    crypto = out_dir / "synth_exchange" / "bars_1m"
    shorts = out_dir / "synth_finra" / "short_interest"
    drops = [
        SampleDrop("quandl_wiki", "bars_1d", equities),
        SampleDrop("synth_exchange", "bars_1m", crypto),
        SampleDrop("synth_finra", "short_interest", shorts),
    ]
    marker = out_dir / f".complete-v{SAMPLE_VERSION}"
    if marker.exists():
        return drops
    rng = np.random.default_rng(SEED)
    stocks = daily_stocks()
    for folder in (equities, crypto, shorts):
        folder.mkdir(parents=True, exist_ok=True)
    for symbol, frame in stocks.groupby("symbol"):
        (equities / f"{symbol}.csv").write_text(frame.to_csv(index=False))
    for pair, price in CRYPTO_PAIRS.items():
        minutes = _crypto_minutes(pair, price, rng)
        # One file per pair and week, named after the week's Monday (a weekly vendor dump).
        monday = pd.to_datetime(minutes["ts"]).dt.to_period("W-SUN").dt.start_time
        minutes["ts"] = minutes["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        for week, frame in minutes.groupby(monday):
            name = f"{pair}-1m-week-{week:%Y-%m-%d}.csv.gz"
            (crypto / name).write_bytes(_gzip_csv(frame))
    interest = _short_interest(stocks, rng)
    for year, frame in interest.groupby(interest["publication_date"].str[:4]):
        (shorts / f"short_interest_{year}.csv").write_text(frame.to_csv(index=False))
    marker.touch()
    return drops
