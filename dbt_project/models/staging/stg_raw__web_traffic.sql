{#- Daily visits per symbol and domain, latest version per (symbol, visit_date, domain)
    known as of the cut-off. -#}
with

source as (select * from {{ source('raw', 'web_traffic') }}),

renamed as ({{ raw_web_traffic_renamed('source') }}),

latest as (
    {{ latest_known('renamed', ['symbol', 'visit_date', 'domain'], ['symbol', 'visit_date',
        'domain', 'visits', 'available_at', 'source_file', 'received_at']) }}
)

select * from latest
