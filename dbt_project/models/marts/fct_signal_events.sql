{#- Trade entries and exits of the strategy instances that passed the performance
    filter at the time of the entry (point-in-time selection), with the moment
    their inputs became available and the moment the row is published
    (signal_timestamp: inputs + compute latency). An exit follows its selected entry. -#}
with

trades as (select * from {{ ref('fct_trades') }}),

selections as (select * from {{ ref('fct_strategy_selections') }}),

entries as (
    select
        trades.trade_id,
        trades.strategy_id,
        trades.symbol,
        'entry' as event_type,
        trades.entry_signal_ts as signal_bar_ts,
        trades.entry_signal_available_at as inputs_available_at,
        trades.entry_signal_close as signal_close
    from trades
),

selected_entries as (
    select entries.*
    from entries
    inner join selections
        on selections.strategy_id = entries.strategy_id
        and selections.symbol = entries.symbol
        and selections.decided_at <= entries.inputs_available_at
        and (selections.valid_until is null or entries.inputs_available_at < selections.valid_until)
    where selections.is_selected
),

exits as (
    select
        trades.trade_id,
        trades.strategy_id,
        trades.symbol,
        'exit' as event_type,
        trades.exit_signal_ts as signal_bar_ts,
        trades.exit_signal_available_at as inputs_available_at,
        cast(null as {{ type_double() }}) as signal_close
    from trades
    inner join selected_entries on selected_entries.trade_id = trades.trade_id
    where trades.exit_signal_ts is not null
),

events as (
    select * from selected_entries
    union all
    select * from exits
),

published as (
    select
        events.*,
        {{ add_seconds('inputs_available_at', var('signal_latency_seconds')) }}
            as signal_timestamp
    from events
)

select * from published
