{#- The point-in-time guard on signal tables: fails for every signal row published
    (signal_timestamp) before the bar it refers to was available, and for every row
    whose bar cannot be found (then nothing proves it was known). -#}
{% test signal_not_before_inputs(model, bars, strategies) %}

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
)

select * from checked
where bar_available_at is null
    or signal_timestamp < bar_available_at

{% endtest %}
