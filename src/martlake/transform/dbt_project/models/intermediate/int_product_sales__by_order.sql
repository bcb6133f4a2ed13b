-- One row per product × order with a sale or a return of it: what product_kpis adds up per
-- product (orders counted without a distinct aggregate over the whole history). Incremental by
-- order (macros/incremental.sql).
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }}
{{ config(
    materialized='incremental',
    incremental_strategy='rebuild_keys',
    unique_key='order_id',
    rebuild_keys='shopify_orders_loaded',
    on_schema_change='sync_all_columns',
) }}

select
    product_id,
    order_id,
    bool_or(movement = 'sale') as sold,
    bool_or(movement = 'return') as refunded,
    sum(units) as units,
    sum(returned_units) as returned_units,
    sum(gross_sales) as gross_sales,
    sum(discounts) as discounts,
    sum(returns) as returns,
    min(date) filter (where movement = 'sale') as first_sold_date,
    max(date) filter (where movement = 'sale') as last_sold_date,
    max(currency_code) as currency_code,
    max(_ingested_at) as _ingested_at
from {{ ref('int_product_sales__dated') }}
where {{ only_rebuilt('order_id', 'shopify_orders_loaded') }}
group by product_id, order_id
{{ in_load_order() }}
