-- One row per calendar month × product × variant that sold or was returned. Sales count in the
-- month of the order, returns in the month of the refund (as in shopify_daily_metrics), so
-- every month's net sales add up to the shop's net sales of that month. Cost of goods: units
-- sold minus units returned, each at the variant's unit cost when its order was placed
-- (stg_shopify__variant_costs); NULL when a unit of the month has no known cost. Incremental
-- by month:
-- the months the orders loaded since the previous build can have changed and those of the
-- variants named otherwise now (macros/incremental_dates.sql); a post-hook stamps every row
-- with the new watermark, so the table equals a full refresh.
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }}
{{ config(
    materialized='incremental',
    incremental_strategy='rebuild_keys',
    unique_key='month',
    rebuild_keys='product_months_to_rebuild',
    rebuild_all_without=['_cost_fingerprint'],
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ stamp_ingested_through() }}",
    ],
) }}

with movements as (
    select
        *,
        cast(date_trunc('month', date) as date) as month
    from {{ ref('int_product_sales__dated') }}
    where {{ only_rebuilt_months('date', 'product_months_to_rebuild') }}
),

costed as (
    select
        movements.*,
        costs.unit_cost
    from movements
    left join {{ ref('stg_shopify__variant_costs') }} as costs
        on movements.variant_id = costs.variant_id
        and movements.ordered_at >= coalesce(costs.valid_from, '-infinity'::timestamptz)
        and movements.ordered_at < coalesce(costs.valid_to, 'infinity'::timestamptz)
),

names as (
    select product_id, variant_id, product_title, variant_title, sku
    from {{ ref('int_product_variants') }}
),

monthly as (
    select
        month,
        product_id,
        variant_id,
        cast(sum(units) as bigint) as units,
        cast(sum(returned_units) as bigint) as returned_units,
        sum(gross_sales) as gross_sales,
        sum(discounts) as discounts,
        sum(returns) as returns,
        count(distinct order_id) filter (where movement = 'sale') as orders,
        case
            when bool_and(unit_cost is not null or units + returned_units = 0)
                then sum(coalesce(unit_cost, 0) * (units - returned_units))
        end as cost_of_goods,
        max(currency_code) as currency_code
    from costed
    group by month, product_id, variant_id
)

select
    monthly.month,
    monthly.product_id,
    monthly.variant_id,
    names.product_title,
    names.variant_title,
    names.sku,
    monthly.units,
    monthly.returned_units,
    monthly.orders,
    {{ money('monthly.gross_sales') }} as gross_sales,
    {{ money('monthly.discounts') }} as discounts,
    {{ money('monthly.returns') }} as returns,
    {{ money('monthly.gross_sales - monthly.discounts - monthly.returns') }} as net_sales,
    {{ safe_divide('monthly.gross_sales - monthly.discounts', 'monthly.units') }}
        as average_selling_price,
    {{ money('monthly.cost_of_goods') }} as cost_of_goods,
    {{ money(
        'monthly.gross_sales - monthly.discounts - monthly.returns - monthly.cost_of_goods'
    ) }} as gross_margin,
    monthly.currency_code,
    {{ cost_fingerprint() }} as _cost_fingerprint,
    {{ shopify_ingested_through() }} as _ingested_through
from monthly
left join names
    on monthly.product_id is not distinct from names.product_id
    and monthly.variant_id is not distinct from names.variant_id
