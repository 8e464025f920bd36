{#- The point-in-time guard on signal tables: fails for every signal row published
    (signal_timestamp) before the bar it refers to was available, and for every row
    whose bar cannot be found (then nothing proves it was known). Rows of the portfolios in
    `portfolios` (strategy_id = portfolio id) are left to portfolio_target_has_cause. -#}
{% test signal_not_before_inputs(model, bars, strategies, portfolios=none) %}

with

signals as (select * from {{ model }}),

bars as (select * from {{ bars }}),

strategies as (select * from {{ strategies }}),

checked as (
    select
        signals.strategy_id,
        signals.symbol,
        signals.timestamp,
        signals.signal_timestamp,
        bars.available_at as bar_available_at
    from signals
    left join strategies on strategies.strategy_id = signals.strategy_id
    left join bars
        on bars.symbol = signals.symbol
        and bars.timeframe = strategies.timeframe
        and bars.ts = signals.timestamp
    {%- if portfolios is not none %}
    where signals.strategy_id not in (select distinct strategy_id from {{ portfolios }})
    {%- endif %}
)

select * from checked
where bar_available_at is null
    or signal_timestamp < bar_available_at

{% endtest %}
