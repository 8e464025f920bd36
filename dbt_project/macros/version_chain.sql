{#- Every version of each entity known at the cut-off, as a valid-time chain
    (bitemporal): valid_from = available_at, valid_to = the next version's
    available_at (null while current), is_current, version_number (1, 2, ...).
    "As of T" is valid_from <= T < coalesce(valid_to, infinity): the row a build with
    as_of = T would call current (without `precedence`, latest_known()'s row).

    Rows published at the same instant collapse to the one latest_known() would pick
    (highest precedence, then latest received, then source file), so every version
    holds for a non-empty interval. `precedence` (optional column, e.g. a filing date)
    outranks recency: a row that arrives with a lower precedence than one already
    known never becomes current (a late correction of a superseded filing), so it is
    no version of the entity's history; it stays in the raw table. -#}
{% macro version_chain(relation, entity, columns, precedence=none) -%}
{%- set key = entity | join(', ') -%}
select
    {{ columns | join(',\n    ') }},
    available_at as valid_from,
    lead(available_at) over (partition by {{ key }} order by available_at) as valid_to,
    lead(available_at) over (partition by {{ key }} order by available_at) is null
        as is_current,
    row_number() over (partition by {{ key }} order by available_at) as version_number
from (
    select
        *
        {%- if precedence is not none %},
        max({{ precedence }}) over (
            partition by {{ key }}
            order by available_at
            rows between unbounded preceding and 1 preceding
        ) as prior_precedence
        {%- endif %}
    from (
        select
            *,
            row_number() over (
                partition by {{ key }}, available_at
                order by
                    {%- if precedence is not none %} {{ precedence }} desc,{% endif %}
                    received_at desc, source_file desc
            ) as instant_rank
        from {{ relation }}
        where available_at <= {{ as_of() }}
    ) as known
    where instant_rank = 1
) as instants
{%- if precedence is not none %}
where prior_precedence is null or {{ precedence }} >= prior_precedence
{%- endif %}
{%- endmacro %}
