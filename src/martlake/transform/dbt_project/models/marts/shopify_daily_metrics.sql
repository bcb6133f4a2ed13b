-- One row per shop-local day from the first order to the last order or refund, zero-filled.
-- Orders count on their order date, returns (and refunded orders) on their refund date.
-- Incremental by day: only the days the orders loaded since the previous build can have
-- changed, the days new to the spine, and every day when the currency changed
-- (macros/incremental_dates.sql); the post-hooks drop the days outside the spine and stamp
-- every row with the new watermark, so the table equals a full refresh.
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }},
-- {{ ref('int_orders__sequenced') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='date',
    on_schema_change='sync_all_columns',
    post_hook=[
        "delete from {{ this }} where not coalesce(date between"
        " (select min(order_date) from {{ ref('shopify_unified') }})"
        " and {{ shopify_daily_last_date() }}, false)",
        "{{ stamp_ingested_through() }}",
    ],
) }}

with all_orders as (
    select order_id, order_date, currency_code
    from {{ ref('shopify_unified') }}
),

{% if is_incremental() -%}
rebuilt as materialized (
    {{ shopify_dates_to_rebuild(customers=true) }}
    union
    select built.date
    from {{ this }} as built
    where built.currency_code is distinct from (select max(currency_code) from all_orders)
),
{%- endif %}

orders as (
    select
        *,
        gross_sales - discounts as sales_after_discounts,
        {{ customer_key('customer_id', 'email_hash') }} as customer_key
    from {{ ref('shopify_unified') }}
    {% if is_incremental() -%}
    {#- The range too: DuckDB's zone maps skip the row groups outside it. #}
    where order_date in (select date from rebuilt)
        and order_date between (select min(date) from rebuilt) and (select max(date) from rebuilt)
    {%- endif %}
),

order_days as (
    select
        order_date as date,
        count(*) as orders,
        sum(units) as units,
        sum(gross_sales) as gross_sales,
        sum(discounts) as discounts,
        sum(shipping) as shipping,
        sum(taxes) as taxes,
        sum(total_price) as total_sales,
        count(*) filter (where is_new_customer) as new_customers,
        count(distinct customer_key) filter (where not is_new_customer) as returning_customers,
        sum(sales_after_discounts) filter (where is_new_customer) as new_customer_revenue,
        sum(sales_after_discounts) filter (where not is_new_customer) as returning_customer_revenue
    from orders
    group by order_date
),

return_days as (
    select
        refunds.refund_date as date,
        sum(refunds.subtotal) as returns,
        count(distinct refunds.order_id) as refunded_orders
    from {{ ref('stg_shopify__refund_lines') }} as refunds
    inner join all_orders
        on refunds.order_id = all_orders.order_id
    {% if is_incremental() -%}
    where refunds.refund_date in (select date from rebuilt)
        and refunds.refund_date
            between (select min(date) from rebuilt) and (select max(date) from rebuilt)
    {%- endif %}
    group by refunds.refund_date
),

bounds as (
    select
        (select min(order_date) from all_orders) as first_date,
        {{ shopify_daily_last_date() }} as last_date
),

spine as (
    select
        cast(unnest(generate_series(first_date, last_date, interval 1 day)) as date) as date
    from bounds
    where first_date is not null
)

select
    spine.date,
    coalesce(order_days.orders, 0) as orders,
    cast(coalesce(order_days.units, 0) as bigint) as units,
    {{ money('coalesce(order_days.gross_sales, 0)') }} as gross_sales,
    {{ money('coalesce(order_days.discounts, 0)') }} as discounts,
    {{ money('coalesce(return_days.returns, 0)') }} as returns,
    coalesce(return_days.refunded_orders, 0) as refunded_orders,
    {{ money(
        'coalesce(order_days.gross_sales, 0) - coalesce(order_days.discounts, 0)'
        ~ ' - coalesce(return_days.returns, 0)'
    ) }} as net_sales,
    {{ money('coalesce(order_days.shipping, 0)') }} as shipping,
    {{ money('coalesce(order_days.taxes, 0)') }} as taxes,
    {{ money('coalesce(order_days.total_sales, 0)') }} as total_sales,
    {{ safe_divide('order_days.gross_sales - order_days.discounts', 'order_days.orders') }} as aov,
    {{ safe_divide('coalesce(return_days.returns, 0)', 'order_days.gross_sales') }}
        as refund_rate,
    {{ safe_divide('coalesce(return_days.refunded_orders, 0)', 'order_days.orders') }}
        as order_refund_rate,
    coalesce(order_days.new_customers, 0) as new_customers,
    coalesce(order_days.returning_customers, 0) as returning_customers,
    {{ money('coalesce(order_days.new_customer_revenue, 0)') }} as new_customer_revenue,
    {{ money('coalesce(order_days.returning_customer_revenue, 0)') }}
        as returning_customer_revenue,
    (select max(currency_code) from all_orders) as currency_code,
    {{ shopify_ingested_through() }} as _ingested_through
from spine
left join order_days
    on spine.date = order_days.date
left join return_days
    on spine.date = return_days.date
{% if is_incremental() -%}
where spine.date in (select date from rebuilt)
    or spine.date not in (select built.date from {{ this }} as built)
{%- endif %}
