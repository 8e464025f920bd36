with

source as (select * from {{ source('backtests', 'selections') }}),

renamed as (
    select
        strategy_id,
        symbol,
        decided_at,
        is_selected,
        trades,
        win_rate,
        profit_factor,
        total_return,
        sharpe,
        max_drawdown
    from source
)

select * from renamed
