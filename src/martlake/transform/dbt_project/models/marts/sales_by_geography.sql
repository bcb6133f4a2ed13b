-- One row per calendar month × shipping country × province/region code. Orders and their
-- sales count in the month of the order, returns in the month of the refund, both at the
-- order's shipping address; codes are NULL for orders shipped nowhere (no shipping address).
-- Incremental by month: the months the orders loaded since the previous build can have
-- changed (macros/incremental_dates.sql); a post-hook stamps every row with the new
-- watermark, so the table equals a full refresh.
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

with refunds as (
    select order_id, refund_date, subtotal
    from {{ ref('stg_shopify__refund_lines') }}
    where {{ only_rebuilt_months('refund_date', 'order_months_to_rebuild') }}
),

{#- Only the orders of the months rebuilt and those refunded in them, chosen before the join
    to their shipping address: joined first, every order would be. #}
chosen as materialized (
    select
        order_id,
        order_date,
        gross_sales,
        discounts,
        is_new_customer,
        currency_code,
        {{ customer_key('customer_id', 'email_hash') }} as customer_key
    from {{ ref('shopify_unified') }}
    where {{ only_rebuilt_months('order_date', 'order_months_to_rebuild') }}
        or order_id in (select order_id from refunds)
),

orders as (
    select
        chosen.*,
        nullif(upper(trim(staged.shipping_country_code)), '') as country_code,
        nullif(upper(trim(staged.shipping_province_code)), '') as province_code
    from chosen
    inner join {{ ref('stg_shopify__orders') }} as staged
        on chosen.order_id = staged.order_id
),

movements as (
    select
        order_date as date,
        country_code,
        province_code,
        order_id,
        customer_key,
        is_new_customer,
        gross_sales,
        discounts,
        0 as returns,
        currency_code
    from orders
    where {{ only_rebuilt(
        "cast(date_trunc('month', order_date) as date)", 'order_months_to_rebuild'
    ) }}

    union all

    select
        refunds.refund_date as date,
        orders.country_code,
        orders.province_code,
        null as order_id,
        null as customer_key,
        null as is_new_customer,
        0 as gross_sales,
        0 as discounts,
        coalesce(refunds.subtotal, 0) as returns,
        orders.currency_code
    from refunds
    inner join orders
        on refunds.order_id = orders.order_id
),

monthly as (
    select
        cast(date_trunc('month', date) as date) as month,
        country_code,
        province_code,
        count(order_id) as orders,
        count(distinct customer_key) as customers,
        count(*) filter (where is_new_customer) as new_customers,
        sum(gross_sales) as gross_sales,
        sum(discounts) as discounts,
        sum(returns) as returns,
        max(currency_code) as currency_code
    from movements
    group by all
)

select
    month,
    country_code,
    province_code,
    orders,
    customers,
    new_customers,
    {{ money('gross_sales') }} as gross_sales,
    {{ money('discounts') }} as discounts,
    {{ money('returns') }} as returns,
    {{ money('gross_sales - discounts - returns') }} as net_sales,
    {{ safe_divide('gross_sales - discounts', 'orders') }} as aov,
    currency_code,
    {{ shopify_ingested_through() }} as _ingested_through
from monthly
