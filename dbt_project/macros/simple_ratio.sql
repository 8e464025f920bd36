{#- `x` snapped to the nearest fraction n/d with d <= max_denominator when within a
    relative `tolerance` of it (2, 1.5, 1.25, 10, ...), else null: how a split ratio
    (new shares per old share) is recognised in a measured price factor. -#}
{% macro simple_ratio(x, tolerance, max_denominator=5) -%}
case
    {%- for d in range(1, max_denominator + 1) %}
    when abs({{ x }} * {{ d }} - round({{ x }} * {{ d }})) <= {{ tolerance }} * {{ x }} * {{ d }}
        then round({{ x }} * {{ d }}) / {{ d }}
    {%- endfor %}
end
{%- endmacro %}
