{#- The typed, renamed rows of a raw table, every version kept (no cut-off yet), read
    from `relation` (the model's import CTE of source('raw', <dataset>)). One macro per
    dataset with a version chain: stg_raw__<dataset> (its latest known version) and
    stg_raw__<dataset>_versions (every version) must read raw rows alike. -#}

{% macro raw_bars_1d_renamed(relation) -%}
select
    upper(trim(symbol)) as symbol,
    ts,
    open,
    high,
    low,
    close,
    volume,
    adj_close,
    available_at,
    _source_file as source_file,
    _received_at as received_at
from {{ relation }}
{%- endmacro %}

{% macro raw_fundamentals_renamed(relation) -%}
select
    upper(trim(symbol)) as symbol,
    cast(period_end as date) as period_end,
    cast(filing_date as date) as filing_date,
    lower(trim(metric)) as metric,
    value,
    available_at,
    _source_file as source_file,
    _received_at as received_at
from {{ relation }}
{%- endmacro %}

{% macro raw_short_interest_renamed(relation) -%}
select
    upper(trim(symbol)) as symbol,
    cast(settlement_date as date) as settlement_date,
    cast(publication_date as date) as publication_date,
    short_interest,
    avg_daily_volume,
    available_at,
    _source_file as source_file,
    _received_at as received_at
from {{ relation }}
{%- endmacro %}

{% macro raw_web_traffic_renamed(relation) -%}
select
    upper(trim(symbol)) as symbol,
    cast(date as date) as visit_date,
    lower(trim(domain)) as domain,
    visits,
    available_at,
    _source_file as source_file,
    _received_at as received_at
from {{ relation }}
{%- endmacro %}
