{#- Execution feedback is optional: before any order events were read back, the
    table does not exist and this model is empty (with the same columns). -#}
-- depends_on: {{ source('lean', 'position_status') }}
{%- set relation = adapter.get_relation(
    database=target.database, schema='lean', identifier='position_status') if execute else none %}
with

{% if relation is not none -%}
source as (select * from {{ source('lean', 'position_status') }}),
{%- else -%}
source as (
    select
        cast(null as {{ dbt.type_string() }}) as signal_id,
        cast(null as {{ dbt.type_boolean() }}) as position_status
    where 1 = 0
),
{%- endif %}

renamed as (
    select
        signal_id,
        position_status
    from source
)

select * from renamed
