{#- Target weights for the LEAN Algorithm Framework (contract: DESIGN.md). An entry
    sets the instance's position weight, an exit sets 0. -#}
with

events as (select * from {{ ref('fct_signal_events') }}),

instances as (select * from {{ ref('stg_backtests__strategy_instances') }}),

weights as (
    select
        events.symbol,
        events.signal_timestamp,
        events.signal_bar_ts as timestamp,
        case
            when events.event_type = 'exit' then 0.0
            when instances.direction = 'short' then -instances.position_weight
            else instances.position_weight
        end as signal,
        events.strategy_id
    from events
    inner join instances on instances.strategy_id = events.strategy_id
)

select * from weights
