with

source as (select * from {{ source('backtests', 'strategy_instances') }}),

renamed as (
    select
        strategy_id,
        strategy_name,
        timeframe,
        direction,
        entry_condition,
        exit_condition,
        stoploss,
        take_profit,
        position_weight,
        fees,
        slippage
    from source
)

select * from renamed
