{#- An 8-byte float on every engine (dbt.type_float() is 4 bytes on DuckDB). -#}
{% macro type_double() -%}
    {{ adapter.dispatch('type_double', 'signalyard')() }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
