-- Incremental by order (macros/incremental.sql).
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }}
{{ config(
    materialized='incremental',
    incremental_strategy='rebuild_keys',
    unique_key='order_id',
    rebuild_keys='shopify_orders_loaded',
    on_schema_change='sync_all_columns',
) }}

select
    order_id,
    {{ money('sum(subtotal)') }} as returns,
    cast(sum(quantity) as bigint) as returned_units,
    min(refund_date) as first_refund_date,
    max(refund_date) as last_refund_date,
    max(_ingested_at) as _ingested_at
from {{ ref('stg_shopify__refund_lines') }}
where {{ only_rebuilt('order_id', 'shopify_orders_loaded') }}
group by order_id
{{ in_load_order() }}
