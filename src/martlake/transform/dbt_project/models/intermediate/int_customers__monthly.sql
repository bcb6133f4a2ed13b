-- One row per calendar month × customer (customer id, else email hash) with an order placed
-- that month, and whether one of them was a returning customer's: executive_summary_monthly
-- counts customers from it without a distinct aggregate over every order. Incremental by
-- month: the months the orders loaded since the previous build can have changed
-- (macros/incremental_dates.sql); a post-hook stamps every row with the new watermark.
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }},
-- {{ ref('int_orders__sequenced') }}
{{ config(
    materialized='incremental',
    incremental_strategy='rebuild_keys',
    unique_key='month',
    rebuild_keys='order_months_to_rebuild',
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ stamp_ingested_through() }}",
    ],
) }}

select
    cast(date_trunc('month', order_date) as date) as month,
    {{ customer_key('customer_id', 'email_hash') }} as customer_key,
    bool_or(not is_new_customer) as is_returning,
    {{ shopify_ingested_through() }} as _ingested_through
from {{ ref('shopify_unified') }}
where (customer_id is not null or email_hash is not null)  -- the customer key is not null
    and {{ only_rebuilt_months('order_date', 'order_months_to_rebuild') }}
group by 1, 2
