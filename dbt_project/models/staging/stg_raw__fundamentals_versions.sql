{#- Every version of each reported metric (symbol, period_end, metric) known at the
    cut-off: original filings, restatements (later filing dates) and corrections of a
    filing, each valid from its own available_at. A later filing outranks an earlier
    one even when the earlier one is corrected afterwards. -#}
with

source as (select * from {{ source('raw', 'fundamentals') }}),

renamed as (
    select
        upper(trim(symbol)) as symbol,
        cast(period_end as date) as period_end,
        cast(filing_date as date) as filing_date,
        lower(trim(metric)) as metric,
        value,
        available_at,
        _source_file as source_file,
        _received_at as received_at
    from source
),

versions as (
    {{ version_chain('renamed', ['symbol', 'period_end', 'metric'], ['symbol', 'period_end',
        'metric', 'filing_date', 'value', 'available_at', 'source_file', 'received_at'],
        precedence='filing_date') }}
)

select * from versions
