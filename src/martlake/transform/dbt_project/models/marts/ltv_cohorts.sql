{#-
  Incremental, by cell: the table is small (cohorts × months), so every build writes every row,
  but only the cells the orders with a new version (or deletion) loaded since the previous build
  can have changed are aggregated again from int_customers__daily_sales; the others keep the
  activity the previous build computed. Changed cells (see the ltv_cohorts docs): every cohort's
  cells of the months those orders (any version, deleted ones too) were placed or refunded in,
  and every cell of the cohorts whose membership changed, the cohort a touched customer is in
  now and the one the previous build put them in (from the raw order versions it had seen: a
  backfilled earlier order moves a customer to an earlier cohort, an edited order can move it to
  another customer). Cohort sizes, cumulative sums and ratios are computed again for every row.
  The post-hooks drop cohorts left without customers and stamp every row with the new watermark,
  so the table equals a full refresh.
-#}
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }}, {{ ref('int_orders__sequenced') }}, {{ ref('shopify_unified') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='cohort_month',
    on_schema_change='fail',
    post_hook=[
        "delete from {{ this }} where cohort_month not in"
        " (select cohort_month from {{ ref('customer_ltv') }})",
        "{{ stamp_ingested_through() }}",
    ],
) }}

{%- set watermark = watermark_literal(this, '_ingested_through') if is_incremental()
    else 'cast(null as timestamptz)' -%}
{%- set by_cell = not watermark.strip().startswith('cast(null') -%}

with customers as (
    select customer_key, cohort_month
    from {{ ref('customer_ltv') }}
),

as_of as (
    select
        {{ ltv_as_of_date() }} as as_of_date,
        cast(date_trunc('month', {{ ltv_as_of_date() }}) as date) as as_of_month
),

cohorts as (
    select cohort_month, count(*) as cohort_size
    from customers
    group by cohort_month
),

{% if by_cell %}
touched_months as (
    select distinct cast(date_trunc('month', date) as date) as month
    from ({{ shopify_dates_to_rebuild() }}) as dates
),

loaded_orders as materialized (
    {{ shopify_orders_changed_after(watermark) }}
),

{#- Every raw version of those orders: the ones loaded since, and the ones seen before. -#}
loaded_versions as materialized (
    select
        id as order_id,
        {{ customer_key('customer_id', 'email_hash') }} as customer_key,
        created_at,
        shop_timezone,
        coalesce(test, false) as is_test,
        shop_domain,
        _ingested_at,
        _extract_run_id
    from ({{ source_or_empty('raw_shopify', 'orders') }}) as raw_orders
    where id in (select order_id from loaded_orders)
),

{#- Customers of every version of the orders loaded since the previous build. -#}
touched_keys as materialized (
    select distinct customer_key
    from loaded_versions
    where customer_key is not null
),

{#-
  The cohort the previous build put each touched customer in: the month of their first order
  among the non-test orders it had. Those are the orders of theirs not loaded since, unchanged,
  and the latest version seen by then of each loaded order, unless it was a test or deleted.
-#}
previous_orders as (
    select sequenced.customer_key, sequenced.created_at, sequenced.order_id, sequenced.order_date
    from {{ ref('int_orders__sequenced') }} as sequenced
    where sequenced.customer_key in (select customer_key from touched_keys)
        and sequenced.order_id not in (select order_id from loaded_orders)

    union all

    select
        customer_key,
        created_at,
        order_id,
        {{ local_date('created_at', 'shop_timezone') }} as order_date
    from (
        select *
        from loaded_versions
        where _ingested_at <= {{ watermark }}
        qualify row_number() over (
            partition by order_id order by _ingested_at desc, _extract_run_id desc
        ) = 1
    ) as previous_versions
    where customer_key is not null
        and not is_test
        and not exists (
            select 1
            from ({{ source_or_empty('raw_shopify', 'deleted_orders') }}) as deleted
            where deleted.order_id = previous_versions.order_id
                and deleted.shop_domain = previous_versions.shop_domain
                and deleted._ingested_at <= {{ watermark }}
        )
),

previous_cohorts as (
    select
        customer_key,
        cast(date_trunc('month', arg_min(order_date, (created_at, order_id))) as date)
            as cohort_month
    from previous_orders
    group by customer_key
),

moved_cohorts as (
    select distinct cohort_month
    from (
        select unnest([previous_cohorts.cohort_month, customers.cohort_month]) as cohort_month
        from touched_keys
        left join previous_cohorts
            on touched_keys.customer_key = previous_cohorts.customer_key
        left join customers
            on touched_keys.customer_key = customers.customer_key
        where previous_cohorts.cohort_month is distinct from customers.cohort_month
    ) as moves
    where cohort_month is not null
),
{% endif %}

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
        daily.cohort_month,
        cast(datediff('month', daily.cohort_month, date_trunc('month', daily.date)) as integer)
            as months_since_first_order,
        count(distinct daily.customer_key) filter (where daily.orders > 0) as active_customers,
        cast(sum(daily.orders) as bigint) as orders,
        sum(daily.sales) as sales,
        sum(daily.returns) as returns,
        sum(daily.net_sales) as net_sales,
        max(daily.currency_code) as currency_code
    from {{ ref('int_customers__daily_sales') }} as daily
    {% if by_cell -%}
    where daily.cohort_month in (select cohort_month from moved_cohorts)
        or cast(date_trunc('month', daily.date) as date) in (select month from touched_months)
    {%- endif %}
    group by all
),

cells as (
    select
        spine.cohort_month,
        spine.months_since_first_order,
        cast(spine.cohort_month + to_months(spine.months_since_first_order) as date)
            as period_month,
        spine.cohort_size,
        {%- if by_cell %}
        {%- for column in ['active_customers', 'orders', 'sales', 'returns', 'net_sales'] %}
        case
            when spine.cohort_month in (select cohort_month from moved_cohorts)
                or cast(spine.cohort_month + to_months(spine.months_since_first_order) as date)
                    in (select month from touched_months)
                then coalesce(activity.{{ column }}, 0)
            else coalesce(kept.{{ column }}, 0)
        end as {{ column }},
        {%- endfor %}
        max(coalesce(activity.currency_code, kept.currency_code))
            over (partition by spine.cohort_month) as currency_code
        {%- else %}
        coalesce(activity.active_customers, 0) as active_customers,
        coalesce(activity.orders, 0) as orders,
        coalesce(activity.sales, 0) as sales,
        coalesce(activity.returns, 0) as returns,
        coalesce(activity.net_sales, 0) as net_sales,
        max(activity.currency_code) over (partition by spine.cohort_month) as currency_code
        {%- endif %}
    from spine
    left join activity
        on spine.cohort_month = activity.cohort_month
        and spine.months_since_first_order = activity.months_since_first_order
    {%- if by_cell %}
    left join {{ this }} as kept
        on spine.cohort_month = kept.cohort_month
        and spine.months_since_first_order = kept.months_since_first_order
    {%- endif %}
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
