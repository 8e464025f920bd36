{#- Every feature column the udfs runner wrote (the registered set changes with the
    registry, so the list is read from the catalog). -#}
with

source as (select * from {{ source('features', 'udf_features') }}),

renamed as (
    select
        {{ star_except(source('features', 'udf_features')) }}
    from source
)

select * from renamed
