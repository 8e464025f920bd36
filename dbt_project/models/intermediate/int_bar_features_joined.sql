{#- One wide row per bar: prices, SQL features, every UDF feature the runner wrote
    (read from the catalog: the registry decides the set) and alternative data.
    A row is available when its latest input is. -#}
with

bars as (select * from {{ ref('int_bars_resampled') }}),

sql_features as (select * from {{ ref('int_bar_returns_computed') }}),

udf_features as (select * from {{ ref('stg_features__udf_features') }}),

short_interest as (select * from {{ ref('int_daily_bars_short_interest_joined') }}),

joined as (
    select
        bars.symbol,
        bars.timeframe,
        bars.ts,
        bars.open,
        bars.high,
        bars.low,
        bars.close,
        bars.volume,
        sql_features.log_return,
        sql_features.sma_20,
        sql_features.range_pct,
        sql_features.relative_volume,
        {{ star_except(ref('stg_features__udf_features'),
            ['symbol', 'timeframe', 'ts', 'available_at', 'open', 'high', 'low', 'close',
             'volume', 'log_return', 'sma_20', 'range_pct', 'relative_volume',
             'days_to_cover'], prefix='udf_features') }},
        short_interest.days_to_cover,
        greatest(
            bars.available_at,
            sql_features.available_at,
            udf_features.available_at,
            coalesce(short_interest.available_at, bars.available_at)
        ) as available_at
    from bars
    inner join sql_features
        on sql_features.symbol = bars.symbol
        and sql_features.timeframe = bars.timeframe
        and sql_features.ts = bars.ts
    inner join udf_features
        on udf_features.symbol = bars.symbol
        and udf_features.timeframe = bars.timeframe
        and udf_features.ts = bars.ts
    left join short_interest
        on short_interest.symbol = bars.symbol
        and short_interest.timeframe = bars.timeframe
        and short_interest.ts = bars.ts
)

select * from joined
