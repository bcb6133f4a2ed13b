-- One row per calendar month from the first to the last month with orders, refunds or ad
-- spend. Shop amounts (shopify_daily_metrics: orders on their order date, returns on their
-- refund date) are converted into the reporting currency at the `[reporting]` rate, like the
-- ad spend of marketing_unified, so that MER and nCAC divide amounts in one currency.
{%- set compared = [
    'orders', 'gross_sales', 'net_sales', 'aov', 'new_customers', 'returning_customer_rate',
    'ad_spend', 'mer', 'marketing_cost_ratio', 'ncac', 'refund_rate', 'order_refund_rate',
    'contribution_margin',
] %}
with fx as (
    {{ fx_rates() }}
),

shop_days as (
    select
        cast(date_trunc('month', days.date) as date) as month,
        days.date,
        days.orders,
        days.refunded_orders,
        days.gross_sales * fx.rate as gross_sales,
        days.discounts * fx.rate as discounts,
        days.returns * fx.rate as returns
    from {{ ref('shopify_daily_metrics') }} as days
    left join fx
        on days.currency_code = fx.currency_code
),

shop as (
    select
        month,
        sum(orders) as orders,
        sum(refunded_orders) as refunded_orders,
        sum(gross_sales) as gross_sales,
        sum(discounts) as discounts,
        sum(returns) as returns,
        min(date) as first_date,
        max(date) as last_date
    from shop_days
    group by month
),

customers as (
    select month, customers, returning_customers
    from {{ ref('int_customers__monthly') }}
),

marketing as (
    select
        cast(date_trunc('month', date) as date) as month,
        sum(spend) as ad_spend,
        min(date) as first_date,
        max(date) as last_date
    from {{ ref('marketing_unified') }}
    group by 1
),

bounds as (
    select
        least((select min(month) from shop), (select min(month) from marketing)) as first_month,
        greatest((select max(month) from shop), (select max(month) from marketing))
            as last_month,
        least((select min(first_date) from shop), (select min(first_date) from marketing))
            as first_date,
        greatest((select max(last_date) from shop), (select max(last_date) from marketing))
            as last_date
),

months as (
    select cast(unnest(generate_series(first_month, last_month, interval 1 month)) as date) as month
    from bounds
    where first_month is not null
),

totals as (
    select
        months.month,
        cast(coalesce(shop.orders, 0) as bigint) as orders,
        cast(coalesce(shop.refunded_orders, 0) as bigint) as refunded_orders,
        {{ money('round(case when shop.month is null then 0 else shop.gross_sales end, 2)') }}
            as gross_sales,
        {{ money('round(case when shop.month is null then 0 else shop.discounts end, 2)') }}
            as discounts,
        {{ money('round(case when shop.month is null then 0 else shop.returns end, 2)') }}
            as returns,
        cast(coalesce(customers.customers, 0) as bigint) as customers,
        cast(coalesce(customers.returning_customers, 0) as bigint) as returning_customers,
        {{ money('coalesce(marketing.ad_spend, 0)') }} as ad_spend,
        months.month < bounds.first_date or last_day(months.month) > bounds.last_date
            as is_partial_month
    from months
    cross join bounds
    left join shop
        on months.month = shop.month
    left join customers
        on months.month = customers.month
    left join marketing
        on months.month = marketing.month
),

{#- A month's cost of goods is known when every unit sold or returned in it has a cost. -#}
goods as (
    select
        products.month,
        case
            when bool_and(products.cost_of_goods is not null)
                then sum(products.cost_of_goods * fx.rate)
        end as cost_of_goods
    from {{ ref('product_performance') }} as products
    left join fx
        on products.currency_code = fx.currency_code
    group by products.month
),

new_customers as (
    select
        cast(date_trunc('month', date) as date) as month,
        sum(new_customers) as new_customers
    from {{ ref('shopify_daily_metrics') }}
    group by 1
),

metrics as (
    select
        totals.month,
        totals.orders,
        totals.gross_sales,
        totals.discounts,
        totals.returns,
        {{ money('totals.gross_sales - totals.discounts - totals.returns') }} as net_sales,
        {{ safe_divide('totals.gross_sales - totals.discounts', 'totals.orders') }} as aov,
        totals.customers,
        cast(coalesce(new_customers.new_customers, 0) as bigint) as new_customers,
        totals.returning_customers,
        {{ safe_divide('totals.returning_customers', 'totals.customers') }}
            as returning_customer_rate,
        totals.ad_spend,
        {{ safe_divide('totals.gross_sales - totals.discounts - totals.returns', 'totals.ad_spend') }}
            as mer,
        {{ safe_divide('totals.ad_spend', 'totals.gross_sales - totals.discounts - totals.returns') }}
            as marketing_cost_ratio,
        {{ safe_divide('totals.ad_spend', 'new_customers.new_customers') }} as ncac,
        totals.refunded_orders,
        {{ safe_divide('totals.returns', 'totals.gross_sales') }} as refund_rate,
        {{ safe_divide('totals.refunded_orders', 'totals.orders') }} as order_refund_rate,
        {{ money('round(goods.cost_of_goods, 2)') }} as cost_of_goods,
        {{ money(
            'totals.gross_sales - totals.discounts - totals.returns'
            ' - round(goods.cost_of_goods, 2) - totals.ad_spend'
        ) }} as contribution_margin,
        totals.is_partial_month
    from totals
    left join new_customers
        on totals.month = new_customers.month
    left join (
        {#- A month without sales or returns costs nothing, once the shop has costs at all. -#}
        select months.month, coalesce(goods.cost_of_goods, 0) as cost_of_goods
        from months
        left join goods
            on months.month = goods.month
        where goods.month is null
            and exists (select 1 from {{ ref('stg_shopify__variant_costs') }})
        union all
        select month, cost_of_goods
        from goods
    ) as goods
        on totals.month = goods.month
)

select
    cur.month,
    cast({{ reporting_currency() }} as varchar) as currency_code,
    cur.orders,
    cur.gross_sales,
    cur.discounts,
    cur.returns,
    cur.net_sales,
    cur.aov,
    cur.customers,
    cur.new_customers,
    cur.returning_customers,
    cur.returning_customer_rate,
    cur.ad_spend,
    cur.mer,
    cur.marketing_cost_ratio,
    cur.ncac,
    cur.refunded_orders,
    cur.refund_rate,
    cur.order_refund_rate,
    cur.cost_of_goods,
    cur.contribution_margin,
    cur.is_partial_month,
    {{ period_over_period(compared, 'cur', 'prev_year', 'prev_year', 'yoy_pct') }}
from metrics as cur
left join metrics as prev_year
    on prev_year.month = cast(cur.month - interval 12 month as date)
