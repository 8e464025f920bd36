{#- Target weights for the LEAN Algorithm Framework (contract: DESIGN.md). For a strategy
    instance, an entry sets its position weight and an exit sets 0. For a declared
    portfolio (strategy_id = the portfolio id), each row is the symbol's new target when an
    allocation or a candidate's position changes (signals/portfolio_pipeline.py). -#}
with

events as (select * from {{ ref('fct_signal_events') }}),

instances as (select * from {{ ref('stg_backtests__strategy_instances') }}),

portfolios as (select * from {{ ref('stg_backtests__portfolio_targets') }}),

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
),

unioned as (
    select * from weights
    union all
    select * from portfolios  -- same columns, same order (the contract's)
)

select * from unioned
