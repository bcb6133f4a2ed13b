-- One row per refund line of a non-test order, on the refund's date in the shop's timezone.
-- Incremental by order (macros/incremental.sql).
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }}, {{ ref('int_ad_campaigns') }}
{{ config(
    materialized='incremental',
    incremental_strategy='rebuild_keys',
    unique_key='order_id',
    rebuild_keys='order_copies_to_rebuild',
    rebuild_all_without=['_attribution_fingerprint'],
    on_schema_change='sync_all_columns',
) }}

select
    refunds.refund_line_id,
    refunds.refund_id,
    refunds.order_id,
    refunds.order_line_id,
    refunds.refund_date,
    refunds.refund_created_at,
    orders.order_date,
    lines.product_id,
    lines.variant_id,
    lines.sku,
    lines.title as product_title,
    lines.variant_title,
    refunds.quantity,
    {{ money('refunds.subtotal') }} as subtotal,
    {{ money('coalesce(refunds.total_tax, 0)') }} as total_tax,
    orders.currency_code,
    orders.channel,
    refunds._ingested_at,
    orders._attribution_fingerprint
from {{ ref('stg_shopify__refund_lines') }} as refunds
inner join {{ ref('shopify_unified') }} as orders
    on refunds.order_id = orders.order_id
left join {{ ref('stg_shopify__order_lines') }} as lines
    on refunds.order_line_id = lines.order_line_id
where {{ only_rebuilt('refunds.order_id', 'order_copies_to_rebuild') }}
