{#- Every simulated trade with its strategy's name and timeframe, duration and outcome. -#}
with

trades as (select * from {{ ref('stg_backtests__trades') }}),

instances as (select * from {{ ref('stg_backtests__strategy_instances') }}),

enriched as (
    select
        trades.trade_id,
        trades.strategy_id,
        instances.strategy_name,
        instances.timeframe,
        trades.symbol,
        trades.entry_signal_ts,
        trades.entry_signal_available_at,
        trades.entry_signal_close,
        trades.entry_at,
        trades.entry_price,
        trades.exit_signal_ts,
        trades.exit_signal_available_at,
        trades.exit_at,
        trades.exit_price,
        trades.exit_reason,
        trades.trade_return,
        trades.bars_held,
        trades.is_pending,
        trades.is_open,
        trades.trade_return > 0 as is_win
    from trades
    inner join instances on instances.strategy_id = trades.strategy_id
)

select * from enriched
