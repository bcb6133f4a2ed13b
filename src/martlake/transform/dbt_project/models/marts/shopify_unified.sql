-- One row per non-test order. Incremental: the orders loaded since the previous build, the
-- other orders of their customers, and orders attributed differently (macros/incremental.sql).
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }}, {{ ref('int_ad_campaigns') }}
{{ config(
    materialized='incremental',
    incremental_strategy='rebuild_keys',
    unique_key='order_id',
    rebuild_keys='unified_orders_to_rebuild',
    rebuild_all_without=['_attribution_fingerprint'],
    on_schema_change='sync_all_columns',
) }}

with orders as (
    select *
    from {{ ref('stg_shopify__orders') }}
    where not is_test
        and {{ only_rebuilt('order_id', 'unified_orders_to_rebuild') }}
),

{#- Each table joined is narrowed to the rebuilt orders first: joined whole, DuckDB would hash
    every order's row of it. #}
joined as (
    select
        orders.*,
        coalesce(lines.gross_sales, 0) as gross_sales,
        coalesce(lines.discounts, 0) as discounts,
        coalesce(refunds.returns, 0) as returns,
        coalesce(lines.units, 0) as units,
        sequenced.customer_order_number,
        attributed.channel,
        attributed.platform,
        attributed.campaign_id,
        attributed.campaign_name,
        attributed.attribution_method,
        attributed._attribution_fingerprint
    from orders
    inner join (
        select * from {{ ref('int_orders__sequenced') }}
        where {{ only_rebuilt('order_id', 'unified_orders_to_rebuild') }}
    ) as sequenced
        on orders.order_id = sequenced.order_id
    inner join (
        select * from {{ ref('int_orders__attributed') }}
        where {{ only_rebuilt('order_id', 'unified_orders_to_rebuild') }}
    ) as attributed
        on orders.order_id = attributed.order_id
    left join (
        select * from {{ ref('int_order_lines__aggregated') }}
        where {{ only_rebuilt('order_id', 'unified_orders_to_rebuild') }}
    ) as lines
        on orders.order_id = lines.order_id
    left join (
        select * from {{ ref('int_refund_lines__aggregated') }}
        where {{ only_rebuilt('order_id', 'unified_orders_to_rebuild') }}
    ) as refunds
        on orders.order_id = refunds.order_id
)

select
    order_id,
    order_name,
    order_number,
    order_date,
    created_at,
    shop_domain,
    currency_code,
    customer_id,
    email_hash,
    {{ money('gross_sales') }} as gross_sales,
    {{ money('discounts') }} as discounts,
    {{ money('returns') }} as returns,
    {{ money('gross_sales - discounts - returns') }} as net_sales,
    {{ money('coalesce(total_shipping, 0)') }} as shipping,
    {{ money('coalesce(total_tax, 0)') }} as taxes,
    {{ money('total_price') }} as total_price,
    units,
    customer_order_number = 1 as is_new_customer,
    customer_order_number,
    discount_codes,
    utm_source,
    utm_medium,
    utm_campaign,
    utm_id,
    utm_content,
    utm_term,
    fbclid,
    gclid,
    gbraid,
    wbraid,
    ttclid,
    landing_site,
    referring_site,
    source_name,
    channel,
    platform,
    campaign_id,
    campaign_name,
    attribution_method,
    case when platform = 'meta' then campaign_id end as meta_campaign_id,
    financial_status,
    cancelled_at,
    shipping_country_code,
    _ingested_at,
    _attribution_fingerprint
from joined
{{ in_load_order() }}
