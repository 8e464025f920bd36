{#- Fails for every row with a null in any of `columns`: the per-column not_null in one
    query, for models with several required columns (each dbt test is a node with its
    own overhead, about 0.1 s in a build). -#}
{% test not_null_columns(model, columns) %}

select * from {{ model }}
where {% for column in columns -%}
    {{ column }} is null{% if not loop.last %} or {% endif %}
{%- endfor %}

{% endtest %}
