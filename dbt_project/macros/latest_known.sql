{#- The latest version of each key known at the cut-off (bitemporal "as of"):
    rows published after {{ as_of() }} are invisible; among the rest, the one
    with the latest available_at wins (then the latest received, then the file). -#}
{% macro latest_known(relation, key, columns) -%}
select
    {{ columns | join(',\n    ') }}
from (
    select
        *,
        row_number() over (
            partition by {{ key | join(', ') }}
            order by available_at desc, received_at desc, source_file desc
        ) as version_rank
    from {{ relation }}
    where available_at <= {{ as_of() }}
) as versions
where version_rank = 1
{%- endmacro %}
