with

source as (select * from {{ source('raw', 'bars_1d') }}),

renamed as ({{ raw_bars_1d_renamed('source') }}),

latest as (
    {{ latest_known('renamed', ['symbol', 'ts'], ['symbol', 'ts', 'open', 'high', 'low',
        'close', 'volume', 'adj_close', 'available_at', 'source_file', 'received_at']) }}
)

select * from latest
