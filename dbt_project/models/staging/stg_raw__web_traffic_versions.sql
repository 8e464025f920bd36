{#- Every version of each day's visits per (symbol, visit_date, domain) known at the
    cut-off, each valid from its own available_at. -#}
with

source as (select * from {{ source('raw', 'web_traffic') }}),

renamed as (
    select
        upper(trim(symbol)) as symbol,
        cast(date as date) as visit_date,
        lower(trim(domain)) as domain,
        visits,
        available_at,
        _source_file as source_file,
        _received_at as received_at
    from source
),

versions as (
    {{ version_chain('renamed', ['symbol', 'visit_date', 'domain'], ['symbol', 'visit_date',
        'domain', 'visits', 'available_at', 'source_file', 'received_at']) }}
)

select * from versions
