-- One row per product (all variants) over the whole history: units, sales, returns, orders,
-- first and last day sold, average prices and refund rate.
with movements as (
    select * from {{ ref('int_product_sales__dated') }}
),

names as (
    select product_id, product_title
    from movements
    where movement = 'sale'
    qualify row_number() over (
        partition by product_id order by observed_at desc, order_line_id desc
    ) = 1
),

totals as (
    select
        product_id,
        count(distinct variant_id) filter (where movement = 'sale') as variants_sold,
        cast(sum(units) as bigint) as units,
        cast(sum(returned_units) as bigint) as returned_units,
        sum(gross_sales) as gross_sales,
        sum(discounts) as discounts,
        sum(returns) as returns,
        count(distinct order_id) filter (where movement = 'sale') as orders,
        count(distinct order_id) filter (where movement = 'return') as refunded_orders,
        min(date) filter (where movement = 'sale') as first_sold_date,
        max(date) filter (where movement = 'sale') as last_sold_date,
        max(currency_code) as currency_code
    from movements
    group by product_id
)

select
    totals.product_id,
    names.product_title,
    totals.variants_sold,
    totals.units,
    totals.returned_units,
    totals.orders,
    totals.refunded_orders,
    {{ money('totals.gross_sales') }} as gross_sales,
    {{ money('totals.discounts') }} as discounts,
    {{ money('totals.returns') }} as returns,
    {{ money('totals.gross_sales - totals.discounts - totals.returns') }} as net_sales,
    totals.first_sold_date,
    totals.last_sold_date,
    {{ safe_divide('totals.gross_sales', 'totals.units') }} as average_unit_price,
    {{ safe_divide('totals.gross_sales - totals.discounts', 'totals.units') }}
        as average_selling_price,
    {{ safe_divide('totals.returned_units', 'totals.units') }} as refund_rate,
    totals.currency_code
from totals
left join names
    on totals.product_id is not distinct from names.product_id
