"""Survivors of the performance filter, and portfolios over their daily return streams.

The input is generic: a wide frame of daily returns, one column per candidate (ids such as
`macd_cci_1h|ETHUSDT`), a UTC DatetimeIndex. A missing return (NaN: the stream had not
started, or stopped) counts as 0, i.e. the capital sits in cash that day. A portfolio
holds fixed weights, rebalanced daily: its return is `returns @ w`. Methods, formulas and
the choice of covariance estimator are in docs/portfolios.md. Every method is
deterministic and independent of the column order (candidates are sorted by id first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.covariance import ledoit_wolf

from signals.selection import PerformanceFilter
from signals.stats import SECONDS_PER_YEAR, periods_per_year_of

# Statistics a return stream alone determines (compute_stats' definitions, see the tests).
RETURN_STAT_NAMES = (
    "bars",
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "volatility",
    "max_drawdown",
    "avg_drawdown",
    "avg_monthly_return",
    "exposure",
    "calmar",
)
_NOT_FROM_RETURNS = {"min_trades": None, "min_win_rate": None, "min_profit_factor": None}
SURVIVOR_PRESETS = {
    # The research brief's bar: >= 5% a month on average, shallow drawdowns, Sharpe >= 1.
    "monthly_gain": PerformanceFilter(
        **_NOT_FROM_RETURNS,
        min_total_return=None,
        min_sharpe=1.0,
        min_max_drawdown=-0.30,
        min_avg_monthly_return=0.05,
        min_avg_drawdown=-0.10,
    ),
    # The library filter's return thresholds, for callers that only have return streams.
    "returns_only": PerformanceFilter(**_NOT_FROM_RETURNS),
}
SHRINKAGE = ("ledoit_wolf", "none")
WEIGHTINGS = ("equal", "inverse_volatility")
_TINY = 1e-8  # optimiser dust: weights below this are set to 0


def survivor_filter(preset: str = "monthly_gain", **overrides: Any) -> PerformanceFilter:
    """A named filter preset (SURVIVOR_PRESETS), with keyword overrides on top."""
    if preset not in SURVIVOR_PRESETS:
        raise ValueError(f"unknown survivor preset {preset!r}; known: {sorted(SURVIVOR_PRESETS)}")
    base = SURVIVOR_PRESETS[preset]
    unknown = sorted(set(overrides) - set(base.__dataclass_fields__))
    if unknown:
        raise ValueError(f"unknown threshold(s) {unknown} for preset {preset!r}")
    return replace(base, **overrides)


def select_survivors(stats: pd.DataFrame, performance_filter: PerformanceFilter) -> list[str]:
    """Ids (the stats index) of the candidates meeting every set threshold, in stats order."""
    floors = performance_filter.floors()
    missing = sorted(set(floors) - set(stats.columns))
    if missing:
        raise ValueError(
            f"stats table: missing column(s) {missing} needed by the filter; "
            f"received {sorted(map(str, stats.columns))}"
        )
    passed = np.ones(len(stats), dtype=bool)
    for column, floor in floors.items():
        values = pd.to_numeric(stats[column], errors="coerce").to_numpy(dtype="float64")
        passed &= ~np.isnan(values) & (values >= floor)
    return list(stats.index[passed])


def _prepared(returns: pd.DataFrame) -> pd.DataFrame:
    """Sorted columns, NaN as 0, finite values, unique ids; errors name the bad cell."""
    if not isinstance(returns, pd.DataFrame) or returns.empty:
        raise ValueError("returns: expected a non-empty DataFrame of daily returns")
    if not returns.columns.is_unique:
        dupes = sorted(map(str, returns.columns[returns.columns.duplicated()]))
        raise ValueError(f"returns: duplicate candidate column(s) {dupes}")
    frame = returns.astype("float64").fillna(0.0)
    bad = ~np.isfinite(frame.to_numpy())
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"returns: non-finite return at row {frame.index[row]}, column {frame.columns[col]!r}"
        )
    order = sorted(range(frame.shape[1]), key=lambda k: str(frame.columns[k]))
    return frame.iloc[:, order]


def _ppy(index: pd.Index, periods_per_year: float | None) -> float:
    """Periods per year: given, or from the index's median spacing (as compute_stats)."""
    if periods_per_year is not None:
        return float(periods_per_year)
    ppy = periods_per_year_of(index) if isinstance(index, pd.DatetimeIndex) else np.nan
    if not np.isfinite(ppy):
        raise ValueError("returns: pass periods_per_year, or index them by a DatetimeIndex")
    return float(ppy)


def _average_drawdowns(drawdown: np.ndarray) -> np.ndarray:
    """Mean trough of the drawdown episodes of each column (0 without a drawdown)."""
    d = drawdown.T  # columns x time, so episodes come in order column by column
    columns, length = d.shape
    below = d < 0
    if not below.any():
        return np.zeros(columns)
    start = below & ~np.concatenate([np.zeros((columns, 1), dtype=bool), below[:, :-1]], axis=1)
    episode = np.cumsum(start, axis=1) + np.arange(columns)[:, None] * (length + 1)
    keys = episode[below]
    cuts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    troughs = np.minimum.reduceat(d[below], cuts)
    column = keys[cuts] // (length + 1)
    counts = np.bincount(column, minlength=columns)
    sums = np.bincount(column, troughs, minlength=columns)
    return np.divide(sums, counts, out=np.zeros(columns), where=counts > 0)


def return_stats(returns: pd.DataFrame, periods_per_year: float | None = None) -> pd.DataFrame:
    """RETURN_STAT_NAMES of each candidate's return stream: candidates x statistics."""
    frame = returns.astype("float64").fillna(0.0)
    ppy = _ppy(frame.index, periods_per_year)
    r = frame.to_numpy()
    n = len(r)
    mean = r.mean(axis=0) if n else np.full(r.shape[1], np.nan)
    std = r.std(axis=0, ddof=1) if n > 1 else np.full(r.shape[1], np.nan)
    downside = np.sqrt(np.mean(np.minimum(r, 0) ** 2, axis=0)) if n else mean
    equity = np.cumprod(np.vstack([np.ones(r.shape[1]), 1 + r]), axis=0)
    drawdown = equity / np.maximum.accumulate(equity, axis=0) - 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = {
            "bars": np.full(r.shape[1], float(n)),
            "total_return": equity[-1] - 1,
            "sharpe": np.where(std > 0, mean / std * np.sqrt(ppy), np.nan),
            "sortino": np.where(downside > 0, mean / downside * np.sqrt(ppy), np.nan),
            "volatility": std * np.sqrt(ppy),
            "max_drawdown": drawdown.min(axis=0),
            "avg_drawdown": _average_drawdowns(drawdown),
            "exposure": (r != 0).mean(axis=0) if n else mean,
            "cagr": np.full(r.shape[1], np.nan),
            "avg_monthly_return": np.full(r.shape[1], np.nan),
        }
        index = frame.index
        if isinstance(index, pd.DatetimeIndex) and n > 1:
            years = (index[-1] - index[0]).total_seconds() / SECONDS_PER_YEAR
            if years > 0:
                out["cagr"] = np.where(equity[-1] > 0, equity[-1] ** (1 / years) - 1, np.nan)
            month_end = pd.DataFrame(equity[1:], index=index).resample("ME").last().dropna()
            monthly = np.vstack([np.ones(r.shape[1]), month_end.to_numpy()])
            out["avg_monthly_return"] = np.mean(monthly[1:] / monthly[:-1] - 1, axis=0)
        worst = out["max_drawdown"]
        out["calmar"] = np.where(worst < 0, out["cagr"] / -worst, np.nan)
    return pd.DataFrame(out, index=frame.columns)[list(RETURN_STAT_NAMES)]


def covariance(
    returns: pd.DataFrame, shrinkage: str = "ledoit_wolf", periods_per_year: float | None = None
) -> pd.DataFrame:
    """Annualised covariance of the candidates: the sample one, or Ledoit-Wolf shrunk."""
    frame = _prepared(returns)
    ppy = _ppy(frame.index, periods_per_year)
    if len(frame) < 2:
        raise ValueError(f"returns: {len(frame)} row(s); a covariance needs at least 2")
    if shrinkage == "none":
        sample = np.atleast_2d(np.cov(frame.to_numpy(), rowvar=False, ddof=1))
    elif shrinkage == "ledoit_wolf":
        n = len(frame)  # ledoit_wolf divides by n; rescale to the ddof=1 sample's level
        sample = ledoit_wolf(frame.to_numpy())[0] * n / (n - 1)
    else:
        raise ValueError(f"unknown shrinkage {shrinkage!r}; known: {list(SHRINKAGE)}")
    return pd.DataFrame(sample * ppy, index=frame.columns, columns=frame.columns)


def portfolio_returns(returns: pd.DataFrame, weights: pd.Series) -> pd.Series:
    """Daily returns of fixed weights rebalanced daily (NaN returns count as cash)."""
    unknown = sorted(set(map(str, weights.index)) - set(map(str, returns.columns)))
    if unknown:
        raise ValueError(f"weights: candidate(s) {unknown} have no return column")
    aligned = weights.reindex(returns.columns).fillna(0.0).to_numpy(dtype="float64")
    values = returns.astype("float64").fillna(0.0).to_numpy() @ aligned
    return pd.Series(values, index=returns.index, name="portfolio")


def _column_sharpe(r: np.ndarray, ppy: float) -> np.ndarray:
    """Annualised Sharpe of each column (-inf where it has no variance)."""
    std = r.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = r.mean(axis=0) / std * np.sqrt(ppy)
    return np.where(std > 0, sharpe, -np.inf)


def greedy_weights(
    returns: pd.DataFrame,
    *,
    max_correlation: float = 0.7,
    max_members: int | None = None,
    weighting: str = "equal",
    min_improvement: float = 1e-6,
    periods_per_year: float | None = None,
) -> pd.Series:
    """Correlation-aware greedy selection: add the best Sharpe improver while one exists.

    Starts from cash (Sharpe 0). Each round adds the candidate whose inclusion raises the
    portfolio's Sharpe most, if by more than `min_improvement`, among those whose
    correlation with every member is below `max_correlation` (a cap of 1 still excludes
    exact duplicates: correlations within 1e-9 of the cap count as reaching it).
    """
    if not -1 < max_correlation <= 1:
        raise ValueError(f"max_correlation {max_correlation}: expected -1 < cap <= 1")
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}; known: {list(WEIGHTINGS)}")
    frame = _prepared(returns)
    ppy = _ppy(frame.index, periods_per_year)
    r = frame.to_numpy()
    std = r.std(axis=0, ddof=1) if len(r) > 1 else np.zeros(r.shape[1])
    eligible = std > 0
    scale = np.ones(r.shape[1]) if weighting == "equal" else np.where(eligible, 1 / std, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.atleast_2d(np.corrcoef(r, rowvar=False))
    members: list[int] = []
    summed, total_scale, current = np.zeros(len(r)), 0.0, 0.0
    while eligible.any() and (max_members is None or len(members) < max_members):
        pool = np.flatnonzero(eligible)
        trial = (summed[:, None] + r[:, pool] * scale[pool]) / (total_scale + scale[pool])
        sharpe = _column_sharpe(trial, ppy)
        best = int(np.argmax(sharpe))
        if not sharpe[best] - current > min_improvement:
            break
        chosen = int(pool[best])
        members.append(chosen)
        summed = summed + r[:, chosen] * scale[chosen]
        total_scale, current = total_scale + scale[chosen], sharpe[best]
        eligible[chosen] = False
        eligible &= corr[chosen] < max_correlation - 1e-9
    weights = np.zeros(r.shape[1])
    if members:
        weights[members] = scale[members] / total_scale
    return pd.Series(weights, index=frame.columns, name="weight")


def _moments(
    returns: pd.DataFrame, shrinkage: str, periods_per_year: float | None
) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Candidate ids, annualised mean returns and annualised covariance."""
    frame = _prepared(returns)
    ppy = _ppy(frame.index, periods_per_year)
    sigma = covariance(frame, shrinkage, ppy).to_numpy()
    return frame.columns, frame.to_numpy().mean(axis=0) * ppy, sigma


def _check_max_weight(max_weight: float, n: int, fully_invested: bool = True) -> None:
    if not 0 < max_weight <= 1:
        raise ValueError(f"max_weight {max_weight}: expected 0 < max_weight <= 1")
    if fully_invested and max_weight * n < 1 - 1e-12:
        raise ValueError(f"max_weight {max_weight} x {n} candidate(s) < 1: weights cannot sum to 1")


def _solve(
    objective: Callable, x0: np.ndarray, what: str, upper: float | None, constraints: list[dict]
) -> np.ndarray:
    """SLSQP over 0 <= x <= upper from a fixed start (deterministic); no convergence: error.

    Status 8 (a line search stalled at the precision limit) is accepted when the point
    meets every constraint to 1e-7.
    """
    result = minimize(
        objective,
        x0,
        jac=True,
        method="SLSQP",
        bounds=[(0.0, upper)] * len(x0),
        constraints=constraints,
        options={"ftol": 1e-10, "maxiter": 1000},
    )
    x = result.x
    feasible = all(
        abs(c["fun"](x)) <= 1e-7 if c["type"] == "eq" else c["fun"](x).min() >= -1e-7
        for c in constraints
    )
    if not (result.success or (result.status == 8 and feasible)):
        raise RuntimeError(f"{what}: SLSQP did not converge ({result.message})")
    return x


def _tidy(w: np.ndarray, ids: pd.Index, max_weight: float, fully_invested: bool) -> pd.Series:
    """Clip optimiser dust and rounding; a fully invested portfolio sums to exactly 1."""
    w = np.clip(w, 0.0, max_weight)
    w[w < _TINY] = 0.0
    if fully_invested and w.sum() > 0:
        w = w / w.sum()
    return pd.Series(w, index=ids, name="weight")


def _quadratic(sigma: np.ndarray) -> Callable:
    """x'Σx and its gradient, scaled by 1 / mean variance: same optimum, ~3x fewer steps."""
    unit = sigma / max(float(np.trace(sigma)) / len(sigma), np.finfo(float).tiny)
    return lambda x: (x @ unit @ x, 2 * unit @ x)


def _budget(n: int, fully_invested: bool) -> dict:
    """sum(w) = 1, or sum(w) <= 1 where the rest may stay in cash."""
    kind = "eq" if fully_invested else "ineq"
    return {"type": kind, "fun": lambda w: 1 - w.sum(), "jac": lambda w: -np.ones(n)}


def equal_weights(returns: pd.DataFrame) -> pd.Series:
    """1/N in every candidate."""
    ids = _prepared(returns).columns
    return pd.Series(np.full(len(ids), 1 / len(ids)), index=ids, name="weight")


def min_variance_weights(
    returns: pd.DataFrame,
    *,
    max_weight: float = 1.0,
    shrinkage: str = "ledoit_wolf",
    periods_per_year: float | None = None,
) -> pd.Series:
    """Long-only minimum variance: min w'Σw subject to sum(w) = 1, 0 <= w <= max_weight."""
    ids, _, sigma = _moments(returns, shrinkage, periods_per_year)
    n = len(ids)
    _check_max_weight(max_weight, n)
    w = _solve(_quadratic(sigma), np.full(n, 1 / n), "min_variance", max_weight, [_budget(n, True)])
    return _tidy(w, ids, max_weight, True)


def max_sharpe_weights(
    returns: pd.DataFrame,
    *,
    max_weight: float = 1.0,
    risk_free: float = 0.0,
    shrinkage: str = "ledoit_wolf",
    periods_per_year: float | None = None,
) -> pd.Series:
    """Long-only maximum Sharpe (tangency), sum(w) = 1, 0 <= w <= max_weight.

    Solved in its convex form: min y'Σy subject to (μ - rf)'y = 1, y >= 0 and
    y_i <= max_weight * sum(y); then w = y / sum(y).
    """
    ids, mu, sigma = _moments(returns, shrinkage, periods_per_year)
    n = len(ids)
    _check_max_weight(max_weight, n)
    excess = mu - risk_free
    if not (excess > 0).any():
        raise ValueError(f"max_sharpe: no candidate's mean return exceeds risk_free {risk_free}")
    constraints = [{"type": "eq", "fun": lambda y: excess @ y - 1, "jac": lambda y: excess}]
    if max_weight < 1:
        cap = max_weight * np.ones((n, n)) - np.eye(n)
        constraints.append({"type": "ineq", "fun": lambda y: cap @ y, "jac": lambda y: cap})
    x0 = np.full(n, 1 / excess[excess > 0].sum())
    y = _solve(_quadratic(sigma), x0, "max_sharpe", None, constraints)
    return _tidy(y / y.sum(), ids, max_weight, True)


def target_volatility_weights(
    returns: pd.DataFrame,
    target: float,
    *,
    max_weight: float = 1.0,
    allow_cash: bool = False,
    shrinkage: str = "ledoit_wolf",
    periods_per_year: float | None = None,
) -> pd.Series:
    """Highest expected return with annualised volatility <= target (the frontier point).

    Fully invested unless `allow_cash` (then sum(w) <= 1 and any target >= 0 is feasible).
    """
    ids, mu, sigma = _moments(returns, shrinkage, periods_per_year)
    n = len(ids)
    _check_max_weight(max_weight, n, not allow_cash)
    if not target > 0:
        raise ValueError(f"target volatility {target}: expected a positive number")
    if allow_cash:  # a feasible start: spread, scaled down to the target
        x0 = np.full(n, min(max_weight, 1 / n))
        x0 *= min(1.0, target / float(np.sqrt(x0 @ sigma @ x0)))
    else:  # the least volatile fully invested portfolio; below it nothing is feasible
        x0 = min_variance_weights(
            returns, max_weight=max_weight, shrinkage=shrinkage, periods_per_year=periods_per_year
        ).to_numpy()
        floor = float(np.sqrt(x0 @ sigma @ x0))
        if floor > target * (1 + 1e-6):
            raise ValueError(
                f"target volatility {target} is below the minimum-variance portfolio's "
                f"{floor:.6f}; raise it or pass allow_cash=True"
            )
    risk = {
        "type": "ineq",
        "fun": lambda w: 1 - (w @ sigma @ w) / target**2,
        "jac": lambda w: -2 * sigma @ w / target**2,
    }
    constraints = [_budget(n, not allow_cash), risk]
    # -mu'w scaled to unit size (same optimum): with near-duplicate candidates the unscaled
    # line search stalls just outside the risk constraint.
    gain = -mu / max(float(np.abs(mu).max()), np.finfo(float).tiny)
    w = _solve(lambda w: (gain @ w, gain), x0, "target_volatility", max_weight, constraints)
    return _tidy(w, ids, max_weight, not allow_cash)


def target_return_weights(
    returns: pd.DataFrame,
    target: float,
    *,
    max_weight: float = 1.0,
    allow_cash: bool = False,
    shrinkage: str = "ledoit_wolf",
    periods_per_year: float | None = None,
) -> pd.Series:
    """Lowest variance with annualised expected return >= target (the frontier point)."""
    ids, mu, sigma = _moments(returns, shrinkage, periods_per_year)
    n = len(ids)
    _check_max_weight(max_weight, n, not allow_cash)
    order = np.argsort(-mu, kind="stable")  # the highest-return weights under the caps
    best = np.zeros(n)
    left = 1.0
    for k in order:
        if allow_cash and mu[k] <= 0:
            break
        best[k] = min(max_weight, left)
        left -= best[k]
    if mu @ best < target - 1e-12:
        raise ValueError(
            f"target return {target} exceeds the highest attainable "
            f"{mu @ best:.6f} under max_weight {max_weight}"
        )
    gain = {"type": "ineq", "fun": lambda w: mu @ w - target, "jac": lambda w: mu}
    constraints = [_budget(n, not allow_cash), gain]
    w = _solve(_quadratic(sigma), best, "target_return", max_weight, constraints)
    return _tidy(w, ids, max_weight, not allow_cash)


METHODS: dict[str, Callable[..., pd.Series]] = {
    "equal": equal_weights,
    "greedy": greedy_weights,
    "max_sharpe": max_sharpe_weights,
    "min_variance": min_variance_weights,
    "target_volatility": target_volatility_weights,
    "target_return": target_return_weights,
}


def build_portfolio(returns: pd.DataFrame, method: str = "max_sharpe", **options: Any) -> pd.Series:
    """Weights by one of METHODS (options are that method's keyword arguments)."""
    if method not in METHODS:
        raise ValueError(f"unknown portfolio method {method!r}; known: {sorted(METHODS)}")
    return METHODS[method](returns, **options)
