-- Lines of the extraction the kept order row came from, so an edited order never mixes versions.
with source as (
    {{ source_or_empty('raw_shopify', 'order_lines') }}
),

orders as (
    select order_id, _ingested_at
    from {{ ref('stg_shopify__orders') }}
)

select
    source.id as order_line_id,
    source.order_id,
    source.product_id,
    source.variant_id,
    source.sku,
    source.title,
    source.variant_title,
    source.quantity,
    source.price,
    source.discount,
    {{ money('source.price * source.quantity') }} as gross_sales,
    source.shop_domain,
    source._extract_run_id,
    source._ingested_at
from source
inner join orders
    on source.order_id = orders.order_id
    and source._ingested_at = orders._ingested_at
qualify row_number() over (
    partition by source.id order by source._extract_run_id desc
) = 1
