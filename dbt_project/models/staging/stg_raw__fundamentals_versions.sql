{#- Every version of each reported metric (symbol, period_end, metric) known at the
    cut-off: original filings, restatements (later filing dates) and corrections of a
    filing, each valid from its own available_at. A later filing outranks an earlier
    one even when the earlier one is corrected afterwards. -#}
with

source as (select * from {{ source('raw', 'fundamentals') }}),

renamed as ({{ raw_fundamentals_renamed('source') }}),

versions as (
    {{ version_chain('renamed', ['symbol', 'period_end', 'metric'], ['symbol', 'period_end',
        'metric', 'filing_date', 'value', 'available_at', 'source_file', 'received_at'],
        precedence='filing_date') }}
)

select * from versions
