{#- Every version of each day's visits per (symbol, visit_date, domain) known at the
    cut-off, each valid from its own available_at. -#}
with

source as (select * from {{ source('raw', 'web_traffic') }}),

renamed as ({{ raw_web_traffic_renamed('source') }}),

versions as (
    {{ version_chain('renamed', ['symbol', 'visit_date', 'domain'], ['symbol', 'visit_date',
        'domain', 'visits', 'available_at', 'source_file', 'received_at']) }}
)

select * from versions
