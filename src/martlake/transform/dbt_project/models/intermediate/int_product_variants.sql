-- One row per product × variant that sold: its names (product title, variant title, SKU) as
-- its latest sale in int_product_sales__dated has them, and which sale that is. What
-- product_performance and product_kpis name variants and products by, kept small so they do
-- not look for the latest sale among every order line.
-- Incremental by variant (macros/incremental_dates.sql): a build looks at the sales of the
-- orders changed since the previous one next to each variant's latest sale before; only a
-- variant whose latest sale was in a changed order is looked up again among all its sales
-- (the line may be gone). A post-hook stamps every row with the new watermark.
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }}
{{ config(
    materialized='incremental',
    incremental_strategy='rebuild_keys',
    unique_key='variant_key',
    rebuild_keys='product_variants_to_rebuild',
    rebuild_all_without=['latest_sale_order_id'],
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ stamp_ingested_through() }}",
    ],
) }}

{%- set incremental = is_incremental() and not rebuilds_everything() %}

with
{% if incremental -%}
changed as (
    {{ shopify_orders_changed_after(dates_built_through()) }}
),

-- Variants whose latest sale was in a changed order: that line may be gone or moved.
stale as (
    select product_id, variant_id
    from {{ this }}
    where latest_sale_order_id in (select order_id from changed)
),
{%- endif %}

sales as (
    select
        product_id,
        variant_id,
        order_id,
        order_line_id,
        observed_at,
        product_title,
        variant_title,
        sku
    from {{ ref('int_product_sales__dated') }}
    where movement = 'sale'
    {%- if incremental %}
        and order_id in (select order_id from changed)

    union all

    select
        dated.product_id,
        dated.variant_id,
        dated.order_id,
        dated.order_line_id,
        dated.observed_at,
        dated.product_title,
        dated.variant_title,
        dated.sku
    from {{ ref('int_product_sales__dated') }} as dated
    semi join stale
        on dated.product_id is not distinct from stale.product_id
        and dated.variant_id is not distinct from stale.variant_id
    where dated.movement = 'sale'

    union all

    -- The latest sale before, still valid: its order did not change since.
    select
        product_id,
        variant_id,
        latest_sale_order_id,
        latest_sale_line_id,
        latest_sale_at,
        product_title,
        variant_title,
        sku
    from {{ this }}
    where variant_key in (select * from {{ rebuild_keys_relation() }})
        and latest_sale_order_id not in (select order_id from changed)
    {%- endif %}
),

latest as (
    select
        product_id,
        variant_id,
        arg_max(
            struct_pack(order_id, order_line_id, observed_at, product_title, variant_title, sku),
            {{ latest_sale_order() }}
        ) as sale
    from sales
    group by product_id, variant_id
)

select
    {{ variant_key() }} as variant_key,
    product_id,
    variant_id,
    sale.product_title,
    sale.variant_title,
    sale.sku,
    sale.observed_at as latest_sale_at,
    sale.order_line_id as latest_sale_line_id,
    sale.order_id as latest_sale_order_id,
    {{ shopify_ingested_through() }} as _ingested_through
from latest
