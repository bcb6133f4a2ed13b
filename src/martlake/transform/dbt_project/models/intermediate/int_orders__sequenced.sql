-- Non-test orders numbered per customer (by created_at, then id). An order without customer id
-- or email hash cannot be matched to earlier ones and counts as a first order. Incremental: the
-- orders loaded since the previous build and every order of their customers, old and new
-- (macros/incremental.sql).
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }}
{{ config(
    materialized='incremental',
    incremental_strategy='rebuild_keys',
    unique_key='order_id',
    rebuild_keys='sequenced_orders_to_rebuild',
    rebuild_all_without=['created_at'],
    on_schema_change='sync_all_columns',
) }}

with orders as (
    select
        *,
        {{ customer_key('customer_id', 'email_hash') }} as customer_key
    from {{ ref('stg_shopify__orders') }}
    where not is_test
),

rebuilt as (
    select *
    from orders
    where {{ only_rebuilt('order_id', 'sequenced_orders_to_rebuild') }}
)

select
    order_id,
    customer_key,
    created_at,
    order_date,
    case
        when customer_key is null then 1
        else row_number() over (partition by customer_key order by created_at, order_id)
    end as customer_order_number,
    _ingested_at
from rebuilt
{{ in_load_order() }}
