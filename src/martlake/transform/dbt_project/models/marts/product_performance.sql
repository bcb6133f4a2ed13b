-- One row per calendar month × product × variant that sold or was returned. Sales count in the
-- month of the order, returns in the month of the refund (as in shopify_daily_metrics), so
-- every month's net sales add up to the shop's net sales of that month.
with movements as (
    select
        *,
        cast(date_trunc('month', date) as date) as month
    from {{ ref('int_product_sales__dated') }}
),

names as (
    select
        product_id,
        variant_id,
        arg_max(product_title, {{ latest_sale_order() }}) as product_title,
        arg_max(variant_title, {{ latest_sale_order() }}) as variant_title,
        arg_max(sku, {{ latest_sale_order() }}) as sku
    from movements
    where movement = 'sale'
    group by product_id, variant_id
),

monthly as (
    select
        month,
        product_id,
        variant_id,
        cast(sum(units) as bigint) as units,
        cast(sum(returned_units) as bigint) as returned_units,
        sum(gross_sales) as gross_sales,
        sum(discounts) as discounts,
        sum(returns) as returns,
        count(distinct order_id) filter (where movement = 'sale') as orders,
        max(currency_code) as currency_code
    from movements
    group by month, product_id, variant_id
)

select
    monthly.month,
    monthly.product_id,
    monthly.variant_id,
    names.product_title,
    names.variant_title,
    names.sku,
    monthly.units,
    monthly.returned_units,
    monthly.orders,
    {{ money('monthly.gross_sales') }} as gross_sales,
    {{ money('monthly.discounts') }} as discounts,
    {{ money('monthly.returns') }} as returns,
    {{ money('monthly.gross_sales - monthly.discounts - monthly.returns') }} as net_sales,
    {{ safe_divide('monthly.gross_sales - monthly.discounts', 'monthly.units') }}
        as average_selling_price,
    monthly.currency_code
from monthly
left join names
    on monthly.product_id is not distinct from names.product_id
    and monthly.variant_id is not distinct from names.variant_id
