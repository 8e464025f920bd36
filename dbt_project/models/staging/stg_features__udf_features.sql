with

source as (select * from {{ source('features', 'udf_features') }}),

renamed as (
    select
        symbol,
        timeframe,
        ts,
        available_at,
        rsi_14,
        macd,
        macdsignal,
        macdhist,
        cci
    from source
)

select * from renamed
