with

source as (select * from {{ source('backtests', 'trades') }}),

renamed as (
    select
        trade_id,
        strategy_id,
        symbol,
        entry_signal_ts,
        entry_signal_available_at,
        entry_signal_close,
        entry_at,
        entry_price,
        exit_signal_ts,
        exit_signal_available_at,
        exit_at,
        exit_price,
        exit_reason,
        trade_return,
        bars_held,
        entry_at is null as is_pending,
        entry_at is not null and exit_at is null as is_open
    from source
)

select * from renamed
