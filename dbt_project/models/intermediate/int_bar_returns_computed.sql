{#- Features that SQL expresses well: returns, a moving average, range, relative volume.
    Windows only look backwards, so every value is known when its bar is. -#}
with

bars as (select * from {{ ref('int_bars_resampled') }}),

windowed as (
    select
        symbol,
        timeframe,
        ts,
        available_at,
        close,
        high,
        low,
        volume,
        lag(close) over (partition by symbol, timeframe order by ts) as previous_close,
        avg(close) over (
            partition by symbol, timeframe order by ts rows between 19 preceding and current row
        ) as close_mean_20,
        avg(volume) over (
            partition by symbol, timeframe order by ts rows between 19 preceding and current row
        ) as volume_mean_20,
        count(*) over (
            partition by symbol, timeframe order by ts rows between 19 preceding and current row
        ) as window_rows
    from bars
),

features as (
    select
        symbol,
        timeframe,
        ts,
        available_at,
        ln(close / previous_close) as log_return,
        case when window_rows = 20 then close_mean_20 end as sma_20,
        (high - low) / close as range_pct,
        case when window_rows = 20 and volume_mean_20 > 0
            then volume / volume_mean_20 end as relative_volume
    from windowed
)

select * from features
