with

source as (select * from {{ source('raw', 'short_interest') }}),

known as (
    select * from source
    where available_at <= {{ as_of() }}
),

versions as (
    select
        upper(trim(symbol)) as symbol,
        cast(settlement_date as date) as settlement_date,
        cast(publication_date as date) as publication_date,
        short_interest,
        avg_daily_volume,
        available_at,
        _source_file as source_file,
        row_number() over (
            partition by upper(trim(symbol)), settlement_date
            order by available_at desc, _received_at desc, _source_file desc
        ) as version_rank
    from known
),

latest as (
    select
        symbol,
        settlement_date,
        publication_date,
        short_interest,
        avg_daily_volume,
        available_at,
        source_file
    from versions
    where version_rank = 1
)

select * from latest
