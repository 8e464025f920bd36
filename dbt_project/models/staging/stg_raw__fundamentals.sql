{#- Reported metrics, the latest version per (symbol, period_end, metric) known as of
    the cut-off: the latest filing known by then (a restatement wins once filed), and
    of that filing its latest correction. -#}
with

source as (select * from {{ source('raw', 'fundamentals') }}),

renamed as ({{ raw_fundamentals_renamed('source') }}),

versions as (
    {{ version_chain('renamed', ['symbol', 'period_end', 'metric'], ['symbol', 'period_end',
        'metric', 'filing_date', 'value', 'available_at', 'source_file', 'received_at'],
        precedence='filing_date') }}
),

latest as (
    select
        symbol,
        period_end,
        metric,
        filing_date,
        value,
        available_at,
        source_file,
        received_at
    from versions
    where is_current
)

select * from latest
