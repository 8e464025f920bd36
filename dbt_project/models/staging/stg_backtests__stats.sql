with

source as (select * from {{ source('backtests', 'stats') }}),

renamed as (
    select * from source
)

select * from renamed
