with

source as (select * from {{ source('backtests', 'portfolio_targets') }}),

renamed as (
    select
        symbol,
        signal_timestamp,
        timestamp,
        signal,
        strategy_id
    from source
)

select * from renamed
