{#- `x` rounded to `digits` decimals as a double (PostgreSQL rounds only numerics). -#}
{% macro round_to(x, digits) -%}
    {{ adapter.dispatch('round_to', 'signalyard')(x, digits) }}
{%- endmacro %}

{% macro default__round_to(x, digits) -%}
    round({{ x }}, {{ digits }})
{%- endmacro %}

{% macro postgres__round_to(x, digits) -%}
    cast(round(cast({{ x }} as numeric), {{ digits }}) as double precision)
{%- endmacro %}
