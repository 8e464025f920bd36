{#- The point-in-time guard on declared portfolios' target rows: each must be published at
    the moment of a cause it could know, i.e. an allocation change of its portfolio on that
    symbol, or an entry or exit of one of the portfolio's candidates on that symbol (the
    signal bar's available_at + signal latency); and none may refer to a later bar than
    the moment it was published. Fails for every row without such a cause. -#}
{% test portfolio_target_has_cause(model, allocations, trades) %}

with

targets as (select * from {{ model }}),

allocations as (select * from {{ allocations }}),

trades as (select * from {{ trades }}),

candidates as (
    select distinct portfolio_id, strategy_id, symbol from allocations
),

candidate_trades as (
    select
        candidates.portfolio_id,
        trades.symbol,
        trades.entry_signal_available_at,
        trades.exit_signal_available_at
    from trades
    inner join candidates
        on candidates.strategy_id = trades.strategy_id
        and candidates.symbol = trades.symbol
),

causes as (
    select portfolio_id, symbol, signal_timestamp from allocations
    union
    select
        portfolio_id,
        symbol,
        {{ add_seconds('entry_signal_available_at', var('signal_latency_seconds')) }}
    from candidate_trades
    union
    select
        portfolio_id,
        symbol,
        {{ add_seconds('exit_signal_available_at', var('signal_latency_seconds')) }}
    from candidate_trades
    where exit_signal_available_at is not null
),

unexplained as (
    select targets.*
    from targets
    left join causes
        on causes.portfolio_id = targets.strategy_id
        and causes.symbol = targets.symbol
        and causes.signal_timestamp = targets.signal_timestamp
    where causes.symbol is null
        or targets.timestamp > targets.signal_timestamp
)

select * from unexplained

{% endtest %}
