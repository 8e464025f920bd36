{#- The columns of a relation except some, as a select list (engine-neutral; read from the
    catalog at run time, `*` at parse time). `prefix` qualifies each column. -#}
{% macro star_except(relation, except=[], prefix=none) -%}
    {%- if not execute -%}
        *
    {%- else -%}
        {%- set skip = except | map('lower') | list -%}
        {%- set names = [] -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- if column.name | lower not in skip -%}
                {%- do names.append((prefix ~ '.' if prefix else '') ~ adapter.quote(column.name)) -%}
            {%- endif -%}
        {%- endfor -%}
        {{ names | join(',\n    ') }}
    {%- endif -%}
{%- endmacro %}
