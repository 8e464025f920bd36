{#- Each daily bar with the latest short interest published by the time the bar
    closed (an as-of join on available_at, never on the settlement date). -#}
with

bars as (select * from {{ ref('int_bars_resampled') }} where timeframe = '1d'),

short_interest as (select * from {{ ref('stg_raw__short_interest') }}),

candidates as (
    select
        bars.symbol,
        bars.timeframe,
        bars.ts,
        bars.available_at as bar_available_at,
        short_interest.settlement_date,
        short_interest.short_interest,
        short_interest.avg_daily_volume,
        short_interest.available_at as short_interest_available_at,
        row_number() over (
            partition by bars.symbol, bars.ts
            order by short_interest.available_at desc, short_interest.settlement_date desc
        ) as recency
    from bars
    inner join short_interest
        on short_interest.symbol = bars.symbol
        and short_interest.available_at <= bars.available_at
),

latest_known as (
    select
        symbol,
        timeframe,
        ts,
        settlement_date as short_interest_settlement_date,
        short_interest,
        short_interest / nullif(avg_daily_volume, 0) as days_to_cover,
        greatest(bar_available_at, short_interest_available_at) as available_at
    from candidates
    where recency = 1
)

select * from latest_known
