-- Products whose average unit price stands out: z-score against every product that sold (the
-- population standard deviation) above `premium_zscore` (from `[marts]`, default 2.0).
{%- set threshold = var('premium_zscore', 2.0) | float %}

with priced as (
    select *
    from {{ ref('product_kpis') }}
    where average_unit_price is not null
),

catalog as (
    select
        avg(average_unit_price) as mean_price,
        stddev_pop(average_unit_price) as stddev_price,
        count(*) as products
    from priced
),

scored as (
    select
        priced.*,
        catalog.mean_price,
        catalog.stddev_price,
        catalog.products,
        {{ safe_divide('priced.average_unit_price - catalog.mean_price', 'catalog.stddev_price') }}
            as price_zscore
    from priced
    cross join catalog
)

select
    product_id,
    product_title,
    average_unit_price,
    mean_price as catalog_mean_price,
    stddev_price as catalog_stddev_price,
    price_zscore,
    cast({{ threshold }} as double) as zscore_threshold,
    products as catalog_products,
    units,
    orders,
    net_sales,
    currency_code
from scored
where price_zscore > {{ threshold }}
