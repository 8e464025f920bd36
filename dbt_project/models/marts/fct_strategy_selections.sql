{#- Performance-filter decisions, each valid from the epoch it was taken at until the next. -#}
with

selections as (select * from {{ ref('stg_backtests__selections') }}),

validity as (
    select
        strategy_id,
        symbol,
        decided_at,
        lead(decided_at) over (partition by strategy_id, symbol order by decided_at) as valid_until,
        is_selected,
        trades,
        win_rate,
        profit_factor,
        total_return,
        sharpe,
        max_drawdown
    from selections
)

select * from validity
