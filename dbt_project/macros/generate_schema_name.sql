{#- Models land in the schema named by their folder (staging, marts, ...), not
    "<target schema>_<folder>", so Python assets and LEAN exports can name them. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
