{#- One-minute bars resampled to every intraday timeframe, plus the daily bars.
    A bucket is published only once complete: at its close plus the feed's
    latency, and never before the as-of cut-off reaches it. -#}
with

minute_bars as (select * from {{ ref('stg_raw__bars_1m') }}),

daily_bars as (select * from {{ ref('stg_raw__bars_1d') }}),

timeframes as (
    {%- for name, seconds in var('intraday_timeframes') %}
    select '{{ name }}' as timeframe, {{ seconds }} as timeframe_seconds
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
),

bucketed as (
    select
        minute_bars.symbol,
        timeframes.timeframe,
        timeframes.timeframe_seconds,
        {{ timestamp_bucket('minute_bars.ts', 'timeframes.timeframe_seconds') }} as bucket_ts,
        minute_bars.ts,
        minute_bars.open,
        minute_bars.high,
        minute_bars.low,
        minute_bars.close,
        minute_bars.volume,
        {{ epoch_seconds('minute_bars.available_at') }}
            - {{ epoch_seconds('minute_bars.ts') }} - 60 as latency_seconds
    from minute_bars
    cross join timeframes
),

resampled as (
    select
        symbol,
        timeframe,
        bucket_ts as ts,
        {{ first_by('open', 'ts') }} as open,
        max(high) as high,
        min(low) as low,
        {{ last_by('close', 'ts') }} as close,
        sum(volume) as volume,
        count(*) as bar_count,
        {{ add_seconds('bucket_ts', 'max(timeframe_seconds + latency_seconds)') }} as available_at
    from bucketed
    group by symbol, timeframe, bucket_ts
),

complete_buckets as (
    select * from resampled
    where available_at <= {{ as_of() }}
),

daily as (
    select
        symbol,
        '1d' as timeframe,
        ts,
        open,
        high,
        low,
        close,
        volume,
        1 as bar_count,
        available_at
    from daily_bars
),

unioned as (
    select * from complete_buckets
    union all
    select * from daily
)

select * from unioned
