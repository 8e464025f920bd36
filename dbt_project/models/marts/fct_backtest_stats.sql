{#- Whole-history statistics per strategy instance and symbol (for research and
    reports; the point-in-time decisions are in fct_strategy_selections). -#}
with

stats as (select * from {{ ref('stg_backtests__stats') }}),

instances as (select * from {{ ref('stg_backtests__strategy_instances') }}),

enriched as (
    select
        stats.strategy_id,
        instances.strategy_name,
        instances.timeframe,
        stats.symbol,
        stats.bars,
        stats.trades,
        stats.win_rate,
        stats.profit_factor,
        stats.total_return,
        stats.sharpe,
        stats.sortino,
        stats.max_drawdown,
        stats.exposure,
        stats.cagr,
        stats.avg_drawdown,
        stats.avg_trade_duration_hours,
        stats.avg_monthly_return,
        stats.passes_filter
    from stats
    inner join instances on instances.strategy_id = stats.strategy_id
)

select * from enriched
