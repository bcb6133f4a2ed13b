-- One row per customer (customer id, else email hash): first order, lifetime sales and the net
-- sales of the first 30/60/90/180/365 days, NULL until that horizon has elapsed. Incremental:
-- the customers of the orders loaded since the previous build, those whose horizon elapsed
-- since, and those whose first order is attributed to another channel now
-- (macros/incremental.sql).
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }}, {{ ref('int_ad_campaigns') }}
{{ config(
    materialized='incremental',
    incremental_strategy='rebuild_keys',
    unique_key='customer_key',
    rebuild_keys='customer_ltv_to_rebuild',
    rebuild_all_without=['_attribution_fingerprint'],
    on_schema_change='sync_all_columns',
) }}

with daily as (
    select *
    from {{ ref('int_customers__daily_sales') }}
    where {{ only_rebuilt('customer_key', 'customer_ltv_to_rebuild') }}
),

firsts as (
    select
        sequenced.customer_key,
        unified.order_id as first_order_id,
        unified.order_date as first_order_date,
        unified.customer_id,
        unified.channel as first_order_channel,
        unified._attribution_fingerprint
    from {{ ref('int_orders__sequenced') }} as sequenced
    inner join {{ ref('shopify_unified') }} as unified
        on sequenced.order_id = unified.order_id
    where sequenced.customer_key is not null
        and sequenced.customer_order_number = 1
        and {{ only_rebuilt('sequenced.customer_key', 'customer_ltv_to_rebuild') }}
),

as_of as (
    select {{ ltv_as_of_date() }} as as_of_date
),

lifetime as (
    select
        daily.customer_key,
        cast(sum(daily.orders) as bigint) as orders,
        max(daily.date) filter (where daily.orders > 0) as last_order_date,
        sum(daily.sales) as sales,
        sum(daily.returns) as returns,
        sum(daily.net_sales) as net_sales,
        {%- for days in ltv_horizons() %}
        sum(daily.net_sales) filter (
            where daily.date < firsts.first_order_date + {{ days }}
        ) as net_sales_{{ days }}d,
        {%- endfor %}
        max(daily.currency_code) as currency_code,
        max(daily._ingested_at) as _ingested_at
    from daily
    inner join firsts
        on daily.customer_key = firsts.customer_key
    group by daily.customer_key
)

select
    firsts.customer_key,
    firsts.customer_id,
    firsts.first_order_id,
    firsts.first_order_date,
    cast(date_trunc('month', firsts.first_order_date) as date) as cohort_month,
    firsts.first_order_channel,
    lifetime.last_order_date,
    lifetime.orders,
    {{ money('lifetime.sales') }} as sales,
    {{ money('lifetime.returns') }} as returns,
    {{ money('lifetime.net_sales') }} as net_sales,
    {%- for days in ltv_horizons() %}
    case
        when firsts.first_order_date + {{ days }} <= as_of.as_of_date
            then {{ money('coalesce(lifetime.net_sales_' ~ days ~ 'd, 0)') }}
    end as ltv_{{ days }}d,
    {%- endfor %}
    lifetime.currency_code,
    lifetime._ingested_at,
    firsts._attribution_fingerprint
from firsts
inner join lifetime
    on firsts.customer_key = lifetime.customer_key
cross join as_of
