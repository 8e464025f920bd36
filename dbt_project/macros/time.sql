{#- Time arithmetic that differs between engines. -#}

{#- Start of the `seconds`-long bucket holding `ts`, buckets aligned to the Unix epoch. -#}
{% macro timestamp_bucket(ts, seconds) -%}
    {{ adapter.dispatch('timestamp_bucket', 'signalyard')(ts, seconds) }}
{%- endmacro %}

{% macro default__timestamp_bucket(ts, seconds) -%}
    {{ from_epoch_seconds('floor(' ~ epoch_seconds(ts) ~ ' / ' ~ seconds ~ ') * ' ~ seconds) }}
{%- endmacro %}

{% macro duckdb__timestamp_bucket(ts, seconds) -%}
    time_bucket(to_seconds({{ seconds }}), {{ ts }}, timestamp '1970-01-01')
{%- endmacro %}

{% macro epoch_seconds(ts) -%}
    {{ adapter.dispatch('epoch_seconds', 'signalyard')(ts) }}
{%- endmacro %}

{% macro default__epoch_seconds(ts) -%}
    extract(epoch from {{ ts }})
{%- endmacro %}

{% macro from_epoch_seconds(seconds) -%}
    {{ adapter.dispatch('from_epoch_seconds', 'signalyard')(seconds) }}
{%- endmacro %}

{% macro default__from_epoch_seconds(seconds) -%}
    cast(to_timestamp({{ seconds }}) at time zone 'UTC' as timestamp)
{%- endmacro %}

{% macro duckdb__from_epoch_seconds(seconds) -%}
    cast(timezone('UTC', to_timestamp({{ seconds }})) as timestamp)
{%- endmacro %}

{#- `ts` plus a number of seconds (a column or a literal). -#}
{% macro add_seconds(ts, seconds) -%}
    {{ adapter.dispatch('add_seconds', 'signalyard')(ts, seconds) }}
{%- endmacro %}

{% macro default__add_seconds(ts, seconds) -%}
    ({{ ts }} + ({{ seconds }}) * interval '1 second')
{%- endmacro %}

{% macro duckdb__add_seconds(ts, seconds) -%}
    ({{ ts }} + to_seconds(cast({{ seconds }} as bigint)))
{%- endmacro %}
