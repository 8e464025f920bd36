{#- The point-in-time cut-off as a timestamp literal: var `as_of`, else now (UTC). -#}
{% macro as_of() -%}
    {%- if var('as_of') is not none -%}
        cast('{{ var("as_of") }}' as timestamp)
    {%- else -%}
        {{ adapter.dispatch('utc_now', 'signalyard')() }}
    {%- endif -%}
{%- endmacro %}

{% macro default__utc_now() -%}
    cast(current_timestamp as timestamp)
{%- endmacro %}

{% macro duckdb__utc_now() -%}
    cast(timezone('UTC', now()) as timestamp)
{%- endmacro %}

{% macro postgres__utc_now() -%}
    (now() at time zone 'utc')
{%- endmacro %}
