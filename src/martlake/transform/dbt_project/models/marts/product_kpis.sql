-- One row per product (all variants) over the whole history: units, sales, returns, orders,
-- first and last day sold, average prices and refund rate.
-- Per product, the product title of its latest sale (the latest of its variants' latest sales,
-- int_product_variants) and how many variants sold.
with names as (
    select
        product_id,
        arg_max(
            product_title, {{ latest_sale_order('latest_sale_at', 'latest_sale_line_id') }}
        ) as product_title,
        count(variant_id) as variants_sold
    from {{ ref('int_product_variants') }}
    group by product_id
),

-- Per product and order first (int_product_sales__by_order, built incrementally): distinct
-- orders counted without a distinct aggregate.
order_totals as (
    select * from {{ ref('int_product_sales__by_order') }}
),

totals as (
    select
        order_totals.product_id,
        cast(sum(order_totals.units) as bigint) as units,
        cast(sum(order_totals.returned_units) as bigint) as returned_units,
        sum(order_totals.gross_sales) as gross_sales,
        sum(order_totals.discounts) as discounts,
        sum(order_totals.returns) as returns,
        count(order_totals.order_id) filter (where order_totals.sold) as orders,
        count(order_totals.order_id) filter (where order_totals.refunded) as refunded_orders,
        min(order_totals.first_sold_date) as first_sold_date,
        max(order_totals.last_sold_date) as last_sold_date,
        max(order_totals.currency_code) as currency_code
    from order_totals
    group by order_totals.product_id
)

select
    totals.product_id,
    names.product_title,
    coalesce(names.variants_sold, 0) as variants_sold,
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
