{#- Splits and dividends derived from consecutive daily bars' close vs adj_close, of the
    versions known as of the cut-off. adj_close levels embed every adjustment the vendor
    knew when it wrote the file (often years later), but the ratio r = adj_close / close
    changes between two consecutive bars only at an ex-date between them, so
    factor = r(previous bar) / r(ex-date bar) is known once both bars are (known_at).
    factor multiplies the prices of every bar before ex_date, as in signals/lean_prices.py
    (whose price factor of a day is the product of the factors of all later ex-dates).
    A split is a factor above 1 (reverse split) or a ratio of at least 1.2 close to a
    simple fraction; anything else is a cash dividend of previous_close * (1 - factor). -#}
{%- set min_change = var('corporate_action_min_change', 0.000001) -%}
{%- set ratio_tolerance = var('split_ratio_tolerance', 0.001) -%}
with

daily_bars as (select * from {{ ref('stg_raw__bars_1d') }}),

ratios as (
    select
        symbol,
        ts,
        close,
        nullif(adj_close, 0) / close as adj_ratio,
        available_at
    from daily_bars
),

consecutive as (
    select
        symbol,
        ts,
        adj_ratio,
        available_at,
        lag(close) over (partition by symbol order by ts) as previous_close,
        lag(adj_ratio) over (partition by symbol order by ts) as previous_adj_ratio,
        lag(available_at) over (partition by symbol order by ts) as previous_available_at
    from ratios
),

changes as (
    select
        symbol,
        cast(ts as date) as ex_date,
        previous_close,
        {{ round_to('previous_adj_ratio / adj_ratio', 10) }} as factor,
        greatest(available_at, previous_available_at) as known_at
    from consecutive
    where abs(previous_adj_ratio / adj_ratio - 1) > {{ min_change }}
),

snapped as (
    select
        *,
        {{ simple_ratio('greatest(factor, 1 / factor)', ratio_tolerance) }} as simple_ratio
    from changes
),

classified as (
    select
        *,
        case
            when factor > 1 then 'split'
            when 1 / factor >= 1.2 and simple_ratio is not null then 'split'
            else 'dividend'
        end as action_kind
    from snapped
),

actions as (
    select
        symbol,
        ex_date,
        action_kind,
        factor,
        case
            when action_kind = 'split' and factor < 1 then simple_ratio
            when action_kind = 'split'
                then {{ round_to('1 / coalesce(simple_ratio, factor)', 6) }}
        end as split_ratio,
        case
            when action_kind = 'dividend'
                then {{ round_to('previous_close * (1 - factor)', 6) }}
        end as dividend_amount,
        known_at
    from classified
)

select * from actions
