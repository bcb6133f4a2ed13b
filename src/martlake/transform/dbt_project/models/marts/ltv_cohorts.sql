{#-
  Incremental: each build recomputes, in full, only the cohorts the raw orders loaded since the
  previous build can have changed (`delete+insert` on cohort_month), see the ltv_cohorts docs:
  the cohort each touched customer is in now, and the one the previous build put them in
  (from the raw order versions it had seen: a backfilled earlier order moves a customer to an
  earlier cohort, an edited order can move it to another customer). Refunds arrive with a new
  version of their order, so late refunds touch their customer's cohort the same way; a deleted
  order (raw deleted_orders) touches its customer too. When the as-of month changes every
  cohort gains a period and all are recomputed. The post-hooks drop cohorts left without
  customers and stamp every row with the new watermark, so the table equals a full refresh.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='cohort_month',
    on_schema_change='fail',
    post_hook=[
        "delete from {{ this }} where cohort_month not in"
        " (select cohort_month from {{ ref('customer_ltv') }})",
        "update {{ this }} set _ingested_through = {{ shopify_ingested_through() }}"
        " where _ingested_through is distinct from {{ shopify_ingested_through() }}",
    ],
) }}

with customers as (
    select customer_key, cohort_month
    from {{ ref('customer_ltv') }}
),

as_of as (
    select
        {{ ltv_as_of_date() }} as as_of_date,
        cast(date_trunc('month', {{ ltv_as_of_date() }}) as date) as as_of_month
),

{% if is_incremental() %}
previous as (
    select max(_ingested_through) as ingested_through, max(period_month) as last_period
    from {{ this }}
),

raw_orders as (
    select
        id as order_id,
        {{ customer_key('customer_id', 'email_hash') }} as customer_key,
        cast(date_trunc('month', {{ local_date('created_at', 'shop_timezone') }}) as date)
            as order_month,
        coalesce(test, false) as is_test,
        _ingested_at
    from ({{ source_or_empty('raw_shopify', 'orders') }}) as raw
),

touched_orders as (
    select loads.order_id
    from (
        select order_id, _ingested_at from raw_orders
        union all
        select order_id, _ingested_at
        from ({{ source_or_empty('raw_shopify', 'deleted_orders') }}) as deleted_orders
    ) as loads
    cross join previous
    where previous.ingested_through is null
        or loads._ingested_at > previous.ingested_through
),

touched_keys as (
    select distinct versions.customer_key
    from raw_orders as versions
    where versions.customer_key is not null
        and versions.order_id in (select order_id from touched_orders)
),

affected as (
    select customers.cohort_month
    from customers
    inner join touched_keys
        on customers.customer_key = touched_keys.customer_key

    union

    select min(raw_orders.order_month) as cohort_month
    from raw_orders
    cross join previous
    where raw_orders._ingested_at <= previous.ingested_through
        and not raw_orders.is_test
        and raw_orders.customer_key in (select customer_key from touched_keys)
    group by raw_orders.customer_key

    union

    select customers.cohort_month
    from customers
    cross join previous
    cross join as_of
    where previous.last_period is distinct from as_of.as_of_month
),
{% endif %}

members as (
    select customers.customer_key, customers.cohort_month
    from customers
    {% if is_incremental() -%}
    where customers.cohort_month in (select cohort_month from affected)
    {%- endif %}
),

cohorts as (
    select cohort_month, count(*) as cohort_size
    from members
    group by cohort_month
),

spine as (
    select
        cohorts.cohort_month,
        cohorts.cohort_size,
        cast(unnest(generate_series(
            0, cast(datediff('month', cohorts.cohort_month, as_of.as_of_month) as bigint)
        )) as integer) as months_since_first_order
    from cohorts
    cross join as_of
),

activity as (
    select
        members.cohort_month,
        cast(datediff('month', members.cohort_month, date_trunc('month', daily.date)) as integer)
            as months_since_first_order,
        count(distinct daily.customer_key) filter (where daily.orders > 0) as active_customers,
        cast(sum(daily.orders) as bigint) as orders,
        sum(daily.sales) as sales,
        sum(daily.returns) as returns,
        sum(daily.net_sales) as net_sales,
        max(daily.currency_code) as currency_code
    from {{ ref('int_customers__daily_sales') }} as daily
    inner join members
        on daily.customer_key = members.customer_key
    group by all
),

cells as (
    select
        spine.cohort_month,
        spine.months_since_first_order,
        cast(spine.cohort_month + to_months(spine.months_since_first_order) as date)
            as period_month,
        spine.cohort_size,
        coalesce(activity.active_customers, 0) as active_customers,
        coalesce(activity.orders, 0) as orders,
        coalesce(activity.sales, 0) as sales,
        coalesce(activity.returns, 0) as returns,
        coalesce(activity.net_sales, 0) as net_sales,
        max(activity.currency_code) over (partition by spine.cohort_month) as currency_code
    from spine
    left join activity
        on spine.cohort_month = activity.cohort_month
        and spine.months_since_first_order = activity.months_since_first_order
),

cumulative as (
    select
        *,
        sum(net_sales) over (
            partition by cohort_month order by months_since_first_order
            rows between unbounded preceding and current row
        ) as cumulative_net_sales
    from cells
)

select
    cumulative.cohort_month,
    cumulative.months_since_first_order,
    cumulative.period_month,
    cumulative.cohort_size,
    cumulative.active_customers,
    cumulative.orders,
    {{ money('cumulative.sales') }} as sales,
    {{ money('cumulative.returns') }} as returns,
    {{ money('cumulative.net_sales') }} as net_sales,
    {{ money('cumulative.cumulative_net_sales') }} as cumulative_net_sales,
    {{ safe_divide('cumulative.cumulative_net_sales', 'cumulative.cohort_size') }}
        as cumulative_ltv_per_customer,
    {{ safe_divide('cumulative.active_customers', 'cumulative.cohort_size') }} as retention_rate,
    cast(cumulative.period_month + interval 1 month as date) <= as_of.as_of_date as is_complete,
    cumulative.currency_code,
    {{ shopify_ingested_through() }} as _ingested_through
from cumulative
cross join as_of
