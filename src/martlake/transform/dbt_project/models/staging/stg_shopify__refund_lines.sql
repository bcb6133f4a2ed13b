-- Refund lines of the extraction the kept order row came from; dated in the shop's timezone.
-- Incremental by order (macros/incremental.sql).
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }}
{{ config(
    materialized='incremental',
    incremental_strategy='rebuild_keys',
    unique_key='order_id',
    rebuild_keys='shopify_orders_loaded',
    on_schema_change='sync_all_columns',
) }}

with source as (
    select *
    from ({{ source_or_empty('raw_shopify', 'refund_lines') }}) as raw_refunds
    where {{ only_rebuilt('order_id', 'shopify_orders_loaded') }}
),

orders as (
    select order_id, shop_timezone, _ingested_at
    from {{ ref('stg_shopify__orders') }}
    where {{ only_rebuilt('order_id', 'shopify_orders_loaded') }}
)

select
    source.id as refund_line_id,
    source.refund_id,
    source.order_id,
    source.line_item_id as order_line_id,
    source.quantity,
    source.subtotal,
    source.total_tax,
    source.refund_created_at,
    {{ local_date('source.refund_created_at', 'orders.shop_timezone') }} as refund_date,
    source.shop_domain,
    source._extract_run_id,
    source._ingested_at
from source
inner join orders
    on source.order_id = orders.order_id
    and source._ingested_at = orders._ingested_at
qualify row_number() over (
    partition by source.id order by source._extract_run_id desc
) = 1
{{ in_load_order() }}
