"""The SQL back end: one strategy on one timeframe compiled to one query giving its trades.

The query reproduces `signals.backtest.backtest_signals` (the kernel's default
conventions) trade for trade: the entry/exit conditions become window-function SQL, and a
recursive CTE walks each series (symbol, timeframe) bar by bar carrying the kernel's state
(`steps` holds the state after every bar, for auditing). It is meant for small universes
and for reading, not for speed; the numba kernel runs the grids.

From dbt: `python -m signals.sql_backtest` writes one model per library strategy instance
into `dbt_project/models/marts/backtests_sql/`, disabled unless the `sql_backtests` var is
set, so `dbt run --select backtests_sql --vars '{sql_backtests: true}'` builds them.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from signals.kernel import (
    EXIT_SIGNAL,
    OPEN,
    PENDING,
    REASONS,
    ROI,
    STOP_LOSS,
    TAKE_PROFIT,
    TRAILING_STOP,
)
from signals.pipeline import FEATURES_TABLE
from signals.strategy import Strategy, load_library
from warehouse.columns import SYMBOL, TIMEFRAME, TS
from warehouse.settings import DBT_PROJECT_DIR

DBT_MODELS_DIR = DBT_PROJECT_DIR / "models" / "marts" / "backtests_sql"
DBT_SOURCE = "{{ ref('int_bar_features_joined') }}"
_SWITCH = "var('sql_backtests', false)"  # generated models are off unless asked for
_ENABLED = "{{ " + _SWITCH + " }}"
_SERIES = (SYMBOL, TIMEFRAME)


def _double(value: float) -> str:
    """A DOUBLE literal that parses back to exactly `value` (scientific notation)."""
    text = repr(float(value))
    return text if "e" in text else f"{text}e0"


class _Compiler:
    """The pieces of SQL that depend on the strategy's direction, levels and costs."""

    def __init__(self, strategy: Strategy, timeframe: str) -> None:
        self.s = strategy
        self.sign = 1 if strategy.direction == "long" else -1
        self.worst, self.best = ("low", "high") if self.sign > 0 else ("high", "low")
        self.roi = strategy.roi_bars(timeframe) if strategy.minimal_roi else ()

    def factor(self, side: int, fraction: float) -> str:
        """`1 + side * fraction`, computed in Python as the kernel does, as a literal."""
        return _double(1 + side * fraction)

    def cost(self, price: str, side: int) -> str:
        """The kernel's `_cost`: price per unit paid (side +1) or received (side -1)."""
        s = self.s
        return f"{price} * {self.factor(side, s.slippage)} * {self.factor(side, s.fees)}"

    def trade_return(self, entry: str, exit_: str) -> str:
        paid, got = self.cost(entry, self.sign), self.cost(exit_, -self.sign)
        return f"({got}) / ({paid}) - 1" if self.sign > 0 else f"(({paid}) - ({got})) / ({paid})"

    def signed(self, expression: str) -> str:
        return expression if self.sign > 0 else f"-({expression})"

    def stop(self) -> tuple[str, str]:
        """(stop price or null, its reason code) from entry_price and peak."""
        s, sign = self.s, self.sign
        fixed = None
        if s.stoploss is not None:
            fixed = f"entry_price * {self.factor(sign, s.stoploss)}"
        if s.trailing_stop is None:
            return (fixed or "cast(null as double)"), str(STOP_LOSS)
        arm = "entry_price"
        if s.trailing_offset is not None:
            arm = f"entry_price * {self.factor(sign, s.trailing_offset)}"
        trailing = f"peak * {self.factor(-sign, s.trailing_stop)}"
        active = f"{self.signed(f'peak - {arm}')} >= 0"
        if fixed is None:
            return f"case when {active} then {trailing} end", str(TRAILING_STOP)
        tighter = f"{active} and {self.signed(f'{trailing} - {fixed}')} > 0"
        return (
            f"case when {tighter} then {trailing} else {fixed} end",
            f"case when {tighter} then {TRAILING_STOP} else {STOP_LOSS} end",
        )

    def target(self) -> str | None:
        s = self.s
        if s.take_profit is None:
            return None
        return f"entry_price * {self.factor(self.sign, s.take_profit)}"

    def roi_hit(self) -> str:
        """Whether the close reaches the ROI required at this trade age (kernel order)."""
        if not self.roi:
            return "false"
        ret = self.trade_return("entry_price", "close")
        cases = " ".join(
            f"when bar_index - entry_index >= {age} then {ret} >= {_double(required)}"
            for age, required in reversed(self.roi)
        )
        return f"(case {cases} else false end)"


def compile_backtest_sql(
    strategy: Strategy, timeframe: str, source: str = FEATURES_TABLE, strategy_id: str = ""
) -> str:
    """One query over `source` (bars + features) giving the strategy's trades on `timeframe`."""
    if timeframe not in strategy.timeframes:
        raise ValueError(f"{strategy.id}: timeframe {timeframe!r} not in {strategy.timeframes}")
    c = _Compiler(strategy, timeframe)
    stop, stop_reason = c.stop()
    target = c.target()
    series = ", ".join(_SERIES)
    on = " and ".join(f"b.{k} = s.{k}" for k in _SERIES)
    entry_sql, exit_sql = strategy.entry.to_sql(_SERIES, TS), strategy.exit.to_sql(_SERIES, TS)
    columns = sorted(strategy.entry.columns | strategy.exit.columns)
    features = ", ".join(dict.fromkeys([*_SERIES, TS, "open", "high", "low", "close", *columns]))
    hit_target = "false" if target is None else f"{c.signed(f'{c.best} - {target}')} >= 0"
    target_fill = (
        "cast(null as double)"
        if target is None
        else (f"case when {c.signed(f'{target} - open')} > 0 then {target} else open end")
    )
    roi_hit = c.roi_hit()
    reasons = " ".join(f"when {code} then '{name}'" for code, name in enumerate(REASONS))
    strategy_id = strategy_id or strategy.instance_id(timeframe)
    joins = "\n".join(
        f"    left join signals as {alias} on {alias}.{SYMBOL} = r.{SYMBOL} and "
        f"{alias}.{TIMEFRAME} = r.{TIMEFRAME} and {alias}.bar_index = r.{column}"
        for alias, column in (
            ("es", "entry_signal_index"), ("en", "entry_index"),
            ("xs", "exit_signal_index"), ("ex", "exit_index"),
        )
    )  # fmt: skip
    return f"""with recursive

features as (
    select {features}
    from {source}
    where {TIMEFRAME} = '{timeframe}'
),

signals as materialized (
    select
        {series}, {TS}, open, high, low, close,
        row_number() over (partition by {series} order by {TS}) - 1 as bar_index,
        {entry_sql} as is_entry,
        {exit_sql} as is_exit
    from features
),

-- the kernel's state after each bar: one row per series and bar, in order
steps as (
    select
        {series}, cast(-1 as bigint) as bar_index, false as in_position,
        false as pending_entry, 0 as pending_exit, cast(-1 as bigint) as entry_signal_index,
        cast(-1 as bigint) as entry_index, cast(-1 as bigint) as exit_signal_index,
        cast(null as double) as entry_price, cast(null as double) as peak,
        cast(null as integer) as closed_reason, cast(null as bigint) as closed_entry_signal_index,
        cast(null as bigint) as closed_entry_index,
        cast(null as bigint) as closed_exit_signal_index,
        cast(null as double) as closed_entry_price, cast(null as double) as closed_exit_price,
        cast(null as double) as closed_return
    from signals
    where bar_index = 0
    union all
    select
        {series}, bar_index,
        still_held as in_position,
        accepts_entry as pending_entry,
        case when still_held and is_exit then {EXIT_SIGNAL}
            when still_held and {roi_hit} then {ROI} else 0 end as pending_exit,
        case when accepts_entry then bar_index else entry_signal_index end
            as entry_signal_index,
        entry_index,
        case when still_held and (is_exit or {roi_hit}) then bar_index
            else exit_signal_index end as exit_signal_index,
        entry_price,
        case when still_held and {c.signed(f"{c.best} - peak")} > 0 then {c.best}
            else peak end as peak,
        closed_reason,
        case when closed_reason is not null then entry_signal_index end,
        case when closed_reason is not null then entry_index end,
        case when exits_at_open then exit_signal_index
            when closed_reason is not null then bar_index end,
        case when closed_reason is not null then entry_price end,
        closed_exit_price,
        {c.trade_return("entry_price", "closed_exit_price")}
    from (
        select
            *,
            held and not exits_at_open and level_reason is null as still_held,
            not (held and not exits_at_open and level_reason is null)
                and is_entry and level_reason is null as accepts_entry,
            case when exits_at_open then pending_exit else level_reason end as closed_reason,
            case when exits_at_open then open
                when level_reason = {TAKE_PROFIT} then {target_fill}
                when level_reason is not null then
                    case when {c.signed("open - stop_price")} > 0 then stop_price else open end
            end as closed_exit_price
        from (
            select
                *,
                case when not held or exits_at_open then null
                    when stop_price is not null
                        and {c.signed(f"{c.worst} - stop_price")} <= 0 then stop_reason
                    when {hit_target} then {TAKE_PROFIT} end as level_reason
            from (
                select
                    *,
                    held and pending_exit <> 0 as exits_at_open,
                    {stop} as stop_price,
                    {stop_reason} as stop_reason
                from (
                    select
                        b.{SYMBOL}, b.{TIMEFRAME}, b.bar_index, b.open, b.high, b.low,
                        b.close, b.is_entry, b.is_exit,
                        s.in_position or s.pending_entry as held,
                        s.entry_signal_index,
                        case when s.pending_entry then b.bar_index else s.entry_index end
                            as entry_index,
                        case when s.pending_entry then b.open else s.entry_price end
                            as entry_price,
                        case when s.pending_entry then b.open else s.peak end as peak,
                        case when s.pending_entry then 0 else s.pending_exit end
                            as pending_exit,
                        case when s.pending_entry then cast(-1 as bigint)
                            else s.exit_signal_index end as exit_signal_index
                    from steps as s
                    inner join signals as b on {on} and b.bar_index = s.bar_index + 1
                ) as opened
            ) as levels
        ) as hits
    ) as closing
),

closed as (
    select
        {series}, closed_entry_signal_index as entry_signal_index,
        closed_entry_index as entry_index, closed_entry_price as entry_price,
        closed_exit_signal_index as exit_signal_index, bar_index as exit_index,
        closed_exit_price as exit_price, closed_reason as reason, closed_return as trade_return
    from steps
    where closed_reason is not null
),

last_steps as (
    select steps.*
    from steps
    inner join (
        select {series}, max(bar_index) as bar_index from signals group by {series}
    ) as last_bars using ({series}, bar_index)
),

unfinished as (
    select
        {series}, entry_signal_index,
        case when in_position then entry_index end as entry_index,
        case when in_position then entry_price end as entry_price,
        case when in_position and exit_signal_index >= 0 then exit_signal_index end
            as exit_signal_index,
        cast(null as bigint) as exit_index, cast(null as double) as exit_price,
        case when pending_entry then {PENDING} else {OPEN} end as reason,
        cast(null as double) as trade_return
    from last_steps
    where pending_entry or in_position
),

records as (
    select * from closed
    union all
    select * from unfinished
),

trades as (
    select
        '{strategy_id}' as strategy_id,
        r.{SYMBOL}, r.{TIMEFRAME},
        r.entry_signal_index, es.{TS} as entry_signal_ts,
        r.entry_index, en.{TS} as entry_at, r.entry_price,
        r.exit_signal_index, xs.{TS} as exit_signal_ts,
        r.exit_index, ex.{TS} as exit_at, r.exit_price,
        case r.reason {reasons} end as exit_reason,
        r.trade_return,
        r.exit_index - r.entry_index as bars_held
    from records as r
{joins}
)

select * from trades
"""


def run_sql_backtest(
    conn: duckdb.DuckDBPyConnection,
    strategy: Strategy,
    timeframe: str,
    source: str = FEATURES_TABLE,
) -> pd.DataFrame:
    """The strategy's trades on `timeframe` for every symbol in `source`, run in DuckDB."""
    sql = compile_backtest_sql(strategy, timeframe, source)
    trades = conn.execute(sql).fetchdf()
    return trades.sort_values([SYMBOL, "entry_signal_index"], ignore_index=True)


def dbt_model_name(strategy: Strategy, timeframe: str) -> str:
    """The dbt model of one strategy instance, e.g. `fct_sql_trades__macd_cci_1h`."""
    return f"fct_sql_trades__{strategy.instance_id(timeframe)}"


def dbt_model_sql(strategy: Strategy, timeframe: str) -> str:
    """A dbt model file: the compiled query over `int_bar_features_joined`, off by default."""
    header = (
        f"{{#- Generated by `python -m signals.sql_backtest` from {strategy.id}.yaml "
        f"({timeframe}): do not edit. -#}}\n"
        f"{{{{ config(enabled={_SWITCH}, tags=['sql_backtest']) }}}}\n"
    )
    return header + compile_backtest_sql(strategy, timeframe, DBT_SOURCE)


def dbt_models_yaml(strategies: Sequence[Strategy]) -> str:
    """The models' YAML: a description and a key test per generated model."""
    models = [
        {
            "name": dbt_model_name(strategy, timeframe),
            "description": f"Trades of {strategy.id} on {timeframe} from the SQL back end "
            f"(same semantics as the kernel). {strategy.description}",
            "data_tests": [
                {
                    "unique_combination_of_columns": {
                        "arguments": {"combination_of_columns": [SYMBOL, "entry_signal_index"]},
                        "config": {"enabled": _ENABLED},
                    }
                }
            ],
        }
        for strategy in strategies
        for timeframe in strategy.timeframes
    ]
    header = "# Generated by `python -m signals.sql_backtest`: do not edit.\n"
    return header + yaml.safe_dump({"version": 2, "models": models}, sort_keys=False, width=100)


def write_dbt_models(
    strategies: Sequence[Strategy], directory: Path = DBT_MODELS_DIR
) -> list[Path]:
    """Write one model per strategy x timeframe and their YAML; remove stale models."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {directory / "_backtests_sql__models.yml": dbt_models_yaml(strategies)}
    for strategy in strategies:
        for timeframe in strategy.timeframes:
            path = directory / f"{dbt_model_name(strategy, timeframe)}.sql"
            files[path] = dbt_model_sql(strategy, timeframe)
    for path, text in files.items():
        if not path.exists() or path.read_text() != text:  # unchanged files keep their mtime
            path.write_text(text)
    for stale in set(directory.glob("fct_sql_trades__*.sql")) - set(files):
        stale.unlink()
    return sorted(files)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m signals.sql_backtest [--out DIR]`: regenerate the library's dbt models."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", type=Path, default=DBT_MODELS_DIR)
    args = parser.parse_args(argv)
    paths = write_dbt_models(load_library(), args.out)
    print(f"wrote {len(paths)} file(s) (models and their YAML) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
