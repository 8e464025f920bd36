with

source as (select * from {{ source('raw', 'bars_1m') }}),

known as (
    select * from source
    where available_at <= {{ as_of() }}
),

versions as (
    select
        upper(trim(symbol)) as symbol,
        ts,
        open,
        high,
        low,
        close,
        volume,
        available_at,
        _source_file as source_file,
        _received_at as received_at,
        row_number() over (
            partition by upper(trim(symbol)), ts
            order by available_at desc, _received_at desc, _source_file desc
        ) as version_rank
    from known
),

latest as (
    select
        symbol,
        ts,
        open,
        high,
        low,
        close,
        volume,
        available_at,
        source_file,
        received_at
    from versions
    where version_rank = 1
)

select * from latest
