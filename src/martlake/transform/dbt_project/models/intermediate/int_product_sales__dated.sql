-- Every sale and every return of a product variant, dated: order lines on the order's date,
-- refund lines on the refund's date (both in the shop's timezone). Test orders are left out.
-- `ordered_at` is when the order was placed, for returns too: the cost of goods of both is
-- the unit cost of that time. Incremental by order (macros/incremental.sql).
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }}
{{ config(
    materialized='incremental',
    incremental_strategy='rebuild_keys',
    unique_key='order_id',
    rebuild_keys='shopify_orders_loaded',
    rebuild_all_without=['ordered_at'],
    on_schema_change='sync_all_columns',
) }}

with orders as (
    select order_id, order_date, created_at, currency_code
    from {{ ref('shopify_unified') }}
    where {{ only_rebuilt('order_id', 'shopify_orders_loaded') }}
),

lines as (
    select
        lines.order_line_id,
        lines.order_id,
        lines.product_id,
        lines.variant_id,
        lines.sku,
        lines.title,
        lines.variant_title,
        coalesce(lines.quantity, 0) as quantity,
        coalesce(lines.gross_sales, 0) as gross_sales,
        coalesce(lines.discount, 0) as discount,
        orders.order_date,
        orders.created_at,
        orders.currency_code,
        lines._ingested_at
    from {{ ref('stg_shopify__order_lines') }} as lines
    inner join orders
        on lines.order_id = orders.order_id
)

select
    'sale' as movement,
    order_date as date,
    order_id,
    order_line_id,
    product_id,
    variant_id,
    sku,
    title as product_title,
    variant_title,
    created_at as observed_at,
    created_at as ordered_at,
    cast(quantity as bigint) as units,
    {{ money('gross_sales') }} as gross_sales,
    {{ money('discount') }} as discounts,
    cast(0 as bigint) as returned_units,
    {{ money(0) }} as returns,
    currency_code,
    _ingested_at
from lines

union all

select
    'return' as movement,
    refunds.refund_date as date,
    refunds.order_id,
    refunds.order_line_id,
    lines.product_id,
    lines.variant_id,
    lines.sku,
    lines.title as product_title,
    lines.variant_title,
    refunds.refund_created_at as observed_at,
    orders.created_at as ordered_at,
    cast(0 as bigint) as units,
    {{ money(0) }} as gross_sales,
    {{ money(0) }} as discounts,
    cast(coalesce(refunds.quantity, 0) as bigint) as returned_units,
    {{ money('coalesce(refunds.subtotal, 0)') }} as returns,
    orders.currency_code,
    refunds._ingested_at
from {{ ref('stg_shopify__refund_lines') }} as refunds
inner join orders
    on refunds.order_id = orders.order_id
left join lines
    on refunds.order_line_id = lines.order_line_id
{{ in_load_order() }}
