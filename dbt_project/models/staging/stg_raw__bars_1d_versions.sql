{#- Every version of each daily bar known at the cut-off, with its validity interval:
    a corrected bar is a new version from its own available_at. -#}
with

source as (select * from {{ source('raw', 'bars_1d') }}),

renamed as ({{ raw_bars_1d_renamed('source') }}),

versions as (
    {{ version_chain('renamed', ['symbol', 'ts'], ['symbol', 'ts', 'open', 'high', 'low',
        'close', 'volume', 'adj_close', 'available_at', 'source_file', 'received_at']) }}
)

select * from versions
