-- What each customer bought and returned per shop-local day: orders and their sales after
-- discounts on the order date, refund subtotals on the refund date. Orders without a customer
-- key (neither customer id nor email) belong to no customer and are left out. Incremental: the
-- customers of every version of the orders loaded since the previous build
-- (macros/incremental.sql). `cohort_month` is the month of the customer's first order, as in
-- customer_ltv: a customer's first order changes only with a loaded order of theirs, so it is
-- rebuilt with them.
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }}
{{ config(
    materialized='incremental',
    incremental_strategy='rebuild_keys',
    unique_key='customer_key',
    rebuild_keys='shopify_customers_loaded',
    rebuild_all_without=['cohort_month'],
    on_schema_change='sync_all_columns',
) }}

{#- The orders of the rebuilt customers, found by the customer key int_orders__sequenced keeps:
    worked out for every order of shopify_unified, the key would cost more than the rest. #}
with customer_orders as (
    select order_id, customer_key
    from {{ ref('int_orders__sequenced') }}
    where customer_key is not null
        and {{ only_rebuilt('customer_key', 'shopify_customers_loaded') }}
),

orders as (
    select
        unified.order_id,
        unified.order_date,
        unified.currency_code,
        unified.gross_sales - unified.discounts as sales,
        customer_orders.customer_key,
        unified.customer_order_number,
        unified._ingested_at
    from {{ ref('shopify_unified') }} as unified
    inner join customer_orders
        on unified.order_id = customer_orders.order_id
),

cohorts as (
    select customer_key, cast(date_trunc('month', min(order_date)) as date) as cohort_month
    from orders
    where customer_key is not null
        and customer_order_number = 1
    group by customer_key
),

events as (
    select
        customer_key, order_date as date, currency_code, 1 as orders, sales, 0 as returns,
        _ingested_at
    from orders
    where customer_key is not null

    union all

    select
        orders.customer_key,
        refunds.refund_date as date,
        orders.currency_code,
        0 as orders,
        0 as sales,
        coalesce(refunds.subtotal, 0) as returns,
        refunds._ingested_at
    from {{ ref('stg_shopify__refund_lines') }} as refunds
    inner join orders
        on refunds.order_id = orders.order_id
    where orders.customer_key is not null
)

select
    events.customer_key,
    cohorts.cohort_month,
    events.date,
    cast(sum(events.orders) as bigint) as orders,
    {{ money('sum(events.sales)') }} as sales,
    {{ money('sum(events.returns)') }} as returns,
    {{ money('sum(events.sales) - sum(events.returns)') }} as net_sales,
    max(events.currency_code) as currency_code,
    max(events._ingested_at) as _ingested_at
from events
left join cohorts
    on events.customer_key = cohorts.customer_key
group by events.customer_key, cohorts.cohort_month, events.date
