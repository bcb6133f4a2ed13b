-- One row per calendar month with an order of a known customer (customer id, else email
-- hash): how many customers ordered that month and how many of them placed a returning order,
-- for executive_summary_monthly. Incremental by month: only the months the orders loaded
-- since the previous build can have changed are counted again, so no distinct count runs over
-- every order (macros/incremental_dates.sql); a post-hook stamps every row with the new
-- watermark. A table of the older month × customer grain is rebuilt whole once.
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }},
-- {{ ref('int_orders__sequenced') }}
{{ config(
    materialized='incremental',
    incremental_strategy='rebuild_keys',
    unique_key='month',
    rebuild_keys='order_months_to_rebuild',
    rebuild_all_without=['returning_customers'],
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ stamp_ingested_through() }}",
    ],
) }}

select
    cast(date_trunc('month', order_date) as date) as month,
    count(distinct customer_key) as customers,
    count(distinct customer_key) filter (where not is_new_customer) as returning_customers,
    {{ shopify_ingested_through() }} as _ingested_through
from (
    select
        order_date,
        is_new_customer,
        {{ customer_key('customer_id', 'email_hash') }} as customer_key
    from {{ ref('shopify_unified') }}
    where (customer_id is not null or email_hash is not null)  -- the customer key is not null
        and {{ only_rebuilt_months('order_date', 'order_months_to_rebuild') }}
) as orders
group by 1
