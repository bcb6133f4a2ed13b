-- One row per line item of a non-test order, on the order's date, with the line's share of the
-- order's discount and the items refunded from it (whatever the refund date). Incremental by
-- order (macros/incremental.sql).
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }}, {{ ref('int_ad_campaigns') }}
{{ config(
    materialized='incremental',
    incremental_strategy='rebuild_keys',
    unique_key='order_id',
    rebuild_keys='order_copies_to_rebuild',
    rebuild_all_without=['_attribution_fingerprint'],
    on_schema_change='sync_all_columns',
) }}

with orders as (
    select
        order_id, order_date, created_at, currency_code, channel, platform, campaign_id,
        _attribution_fingerprint
    from {{ ref('shopify_unified') }}
    where {{ only_rebuilt('order_id', 'order_copies_to_rebuild') }}
),

returned as (
    select
        order_line_id,
        sum(quantity) as returned_quantity,
        sum(subtotal) as returns
    from {{ ref('stg_shopify__refund_lines') }}
    where {{ only_rebuilt('order_id', 'order_copies_to_rebuild') }}
    group by order_line_id
)

select
    lines.order_line_id,
    lines.order_id,
    orders.order_date,
    orders.created_at,
    lines.product_id,
    lines.variant_id,
    lines.sku,
    lines.title as product_title,
    lines.variant_title,
    lines.quantity,
    {{ money('lines.price') }} as price,
    {{ money('lines.gross_sales') }} as gross_sales,
    {{ money('coalesce(lines.discount, 0)') }} as discount,
    cast(coalesce(returned.returned_quantity, 0) as bigint) as returned_quantity,
    {{ money('coalesce(returned.returns, 0)') }} as returns,
    {{ money(
        'lines.gross_sales - coalesce(lines.discount, 0) - coalesce(returned.returns, 0)'
    ) }} as net_sales,
    orders.currency_code,
    orders.channel,
    orders.platform,
    orders.campaign_id,
    lines._ingested_at,
    orders._attribution_fingerprint
from {{ ref('stg_shopify__order_lines') }} as lines
inner join orders
    on lines.order_id = orders.order_id
left join returned
    on lines.order_line_id = returned.order_line_id
{{ in_load_order() }}
