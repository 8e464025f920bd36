with

source as (select * from {{ source('raw', 'short_interest') }}),

renamed as ({{ raw_short_interest_renamed('source') }}),

latest as (
    {{ latest_known('renamed', ['symbol', 'settlement_date'], ['symbol', 'settlement_date',
        'publication_date', 'short_interest', 'avg_daily_volume', 'available_at',
        'source_file']) }}
)

select * from latest
