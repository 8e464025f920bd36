{#- Versions of one entity must tile time: ordered by valid_from, each version ends
    exactly where the next begins (no gap, no overlap), holds for a non-empty interval,
    and only the last is open-ended (valid_to null). With `current_flag`, that column
    must be true exactly on the open-ended version. Fails for every offending version. -#}
{% test valid_time_chain(model, entity, valid_from='valid_from', valid_to='valid_to',
    current_flag=none) %}

with

versions as (select * from {{ model }}),

chained as (
    select
        {{ entity | join(', ') }},
        {{ valid_from }} as checked_valid_from,
        {{ valid_to }} as checked_valid_to,
        {%- if current_flag is not none %}
        {{ current_flag }} as checked_is_current,
        {%- endif %}
        lead({{ valid_from }}) over (
            partition by {{ entity | join(', ') }} order by {{ valid_from }}
        ) as next_valid_from
    from versions
),

broken as (
    select
        *,
        case
            when checked_valid_from is null then 'valid_from is null'
            when checked_valid_to <= checked_valid_from then 'empty or negative interval'
            when checked_valid_to is null and next_valid_from is not null
                then 'open-ended version before the last'
            when checked_valid_to is not null and next_valid_from is null
                then 'last version is closed'
            when checked_valid_to < next_valid_from then 'gap before the next version'
            when checked_valid_to > next_valid_from then 'overlaps the next version'
            {%- if current_flag is not none %}
            when checked_is_current is null
                or checked_is_current != (checked_valid_to is null)
                then 'current flag disagrees with valid_to'
            {%- endif %}
        end as failure
    from chained
)

select * from broken
where failure is not null

{% endtest %}
