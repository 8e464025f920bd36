{#- Daily visits per symbol and domain, latest version per (symbol, visit_date, domain)
    known as of the cut-off. -#}
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

latest as (
    {{ latest_known('renamed', ['symbol', 'visit_date', 'domain'], ['symbol', 'visit_date',
        'domain', 'visits', 'available_at', 'source_file', 'received_at']) }}
)

select * from latest
