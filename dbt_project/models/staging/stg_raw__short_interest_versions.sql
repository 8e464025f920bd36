{#- Every version of each settlement's short interest known at the cut-off, each valid
    from its own available_at (the same ordering as stg_raw__short_interest). -#}
with

source as (select * from {{ source('raw', 'short_interest') }}),

renamed as ({{ raw_short_interest_renamed('source') }}),

versions as (
    {{ version_chain('renamed', ['symbol', 'settlement_date'], ['symbol', 'settlement_date',
        'publication_date', 'short_interest', 'avg_daily_volume', 'available_at',
        'source_file', 'received_at']) }}
)

select * from versions
