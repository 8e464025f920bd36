{#- `value` of the row with the smallest / largest `order_by` in the group. -#}

{% macro first_by(value, order_by) -%}
    {{ adapter.dispatch('first_by', 'signalyard')(value, order_by) }}
{%- endmacro %}

{% macro default__first_by(value, order_by) -%}
    min_by({{ value }}, {{ order_by }})
{%- endmacro %}

{% macro postgres__first_by(value, order_by) -%}
    (array_agg({{ value }} order by {{ order_by }}))[1]
{%- endmacro %}

{% macro last_by(value, order_by) -%}
    {{ adapter.dispatch('last_by', 'signalyard')(value, order_by) }}
{%- endmacro %}

{% macro default__last_by(value, order_by) -%}
    max_by({{ value }}, {{ order_by }})
{%- endmacro %}

{% macro postgres__last_by(value, order_by) -%}
    (array_agg({{ value }} order by {{ order_by }} desc))[1]
{%- endmacro %}

{#- A stable hex digest of the concatenated expressions. -#}
{% macro content_hash(expressions) -%}
    md5({%- for e in expressions -%}coalesce(cast({{ e }} as varchar), '∅'){%- if not loop.last %} || '|' || {% endif -%}{%- endfor -%})
{%- endmacro %}
