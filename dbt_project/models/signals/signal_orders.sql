{#- Bracket orders (contract: DESIGN.md): a market entry with absolute stop-loss and
    take-profit from the signal bar's close, and a market exit that closes it.
    position_status starts as emitted (entry open, exit closed) and follows LEAN's
    order events once `signalyard feedback lean` has read them back. -#}
with

events as (select * from {{ ref('fct_signal_events') }}),

instances as (select * from {{ ref('stg_backtests__strategy_instances') }}),

execution as (select * from {{ ref('stg_lean__position_status') }}),

priced as (
    select
        events.symbol,
        events.signal_timestamp,
        events.signal_bar_ts as timestamp,
        events.strategy_id,
        events.trade_id,
        events.event_type,
        case
            when (events.event_type = 'entry') = (instances.direction = 'long') then 'buy'
            else 'sell'
        end as direction,
        'market' as entry_type,
        cast(null as {{ type_double() }}) as entry_price,
        case when events.event_type = 'entry' then
            events.signal_close * (1 + case when instances.direction = 'long'
                then instances.stoploss else -instances.stoploss end)
        end as stop_loss,
        case when events.event_type = 'entry' and instances.take_profit is not null then
            events.signal_close * (1 + case when instances.direction = 'long'
                then instances.take_profit else -instances.take_profit end)
        end as take_profit,
        events.event_type = 'entry' as position_status
    from events
    inner join instances on instances.strategy_id = events.strategy_id
),

orders as (
    select
        symbol,
        signal_timestamp,
        timestamp,
        strategy_id,
        direction,
        entry_type,
        entry_price,
        stop_loss,
        take_profit,
        {{ content_hash(['strategy_id', 'symbol', 'timestamp', 'event_type', 'direction',
            'stop_loss', 'take_profit']) }} as signal_id,
        position_status
    from priced
),

synced as (
    select
        orders.symbol,
        orders.signal_timestamp,
        orders.timestamp,
        orders.strategy_id,
        orders.direction,
        orders.entry_type,
        orders.entry_price,
        orders.stop_loss,
        orders.take_profit,
        orders.signal_id,
        coalesce(execution.position_status, orders.position_status) as position_status
    from orders
    left join execution on execution.signal_id = orders.signal_id
)

select * from synced
