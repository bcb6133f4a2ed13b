-- Lines of the extraction the kept order row came from, so an edited order never mixes versions.
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
    from ({{ source_or_empty('raw_shopify', 'order_lines') }}) as raw_lines
    where {{ only_rebuilt('order_id', 'shopify_orders_loaded') }}
),

orders as (
    select order_id, _ingested_at
    from {{ ref('stg_shopify__orders') }}
    where {{ only_rebuilt('order_id', 'shopify_orders_loaded') }}
)

select
    source.id as order_line_id,
    source.order_id,
    source.product_id,
    source.variant_id,
    source.sku,
    source.title,
    source.variant_title,
    source.quantity,
    source.price,
    source.discount,
    {{ money('source.price * source.quantity') }} as gross_sales,
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
