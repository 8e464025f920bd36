{#- Daily bars with raw OHLCV kept and split/dividend-adjusted prices as of the cut-off:
    a bar's prices are multiplied by the factors of every action with a later ex_date
    that was known by then (known_at <= as_of), its volume divided by the later split
    factors only. A replay before a split sees raw history; the full build sees it
    adjusted. Adjusted levels therefore change when an action becomes known:
    adjusted_available_at says since when a row's adjusted values were known. The
    vendor's adj_close is deliberately not passed on (it embeds later knowledge). -#}
with

daily_bars as (select * from {{ ref('stg_raw__bars_1d') }}),

actions as (
    select * from {{ ref('int_corporate_actions_derived') }}
    where known_at <= {{ as_of() }}
),

events as (
    select symbol, ts, 0 as event_order, cast(0 as {{ type_double() }}) as log_factor,
        cast(0 as {{ type_double() }}) as log_split_factor, cast(null as timestamp) as known_at
    from daily_bars
    union all
    select symbol, cast(ex_date as timestamp) as ts, 1 as event_order, ln(factor),
        case when action_kind = 'split' then ln(factor) else 0 end, known_at
    from actions
),

cumulated as (
    -- walking back in time, a bar sees exactly the actions with a later ex_date
    -- (an action on the bar's own date is ordered after it)
    select
        symbol,
        ts,
        event_order,
        exp(sum(log_factor) over later_first) as price_factor,
        exp(sum(log_split_factor) over later_first) as split_factor,
        max(known_at) over later_first as adjustment_known_at
    from events
    window later_first as (
        partition by symbol order by ts desc, event_order
        rows between unbounded preceding and current row
    )
),

adjusted as (
    select
        daily_bars.symbol,
        daily_bars.ts,
        daily_bars.open,
        daily_bars.high,
        daily_bars.low,
        daily_bars.close,
        daily_bars.volume,
        daily_bars.open * cumulated.price_factor as adjusted_open,
        daily_bars.high * cumulated.price_factor as adjusted_high,
        daily_bars.low * cumulated.price_factor as adjusted_low,
        daily_bars.close * cumulated.price_factor as adjusted_close,
        daily_bars.volume / cumulated.split_factor as adjusted_volume,
        cumulated.price_factor as adjustment_factor,
        daily_bars.available_at,
        greatest(daily_bars.available_at, coalesce(cumulated.adjustment_known_at,
            daily_bars.available_at)) as adjusted_available_at
    from daily_bars
    inner join cumulated
        on cumulated.symbol = daily_bars.symbol
        and cumulated.ts = daily_bars.ts
        and cumulated.event_order = 0
)

select * from adjusted
