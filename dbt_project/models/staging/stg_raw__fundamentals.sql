{#- Reported metrics, the latest version per (symbol, period_end, metric) known as of
    the cut-off: the latest filing known by then (a restatement wins once filed), and
    of that filing its latest correction. -#}
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
