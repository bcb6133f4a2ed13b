-- The row of each order's latest version, from the load that first brought it (a later load
-- that re-read it unchanged is not a new version: stg_shopify__order_versions). Deleted orders
-- (a `destroy` event in raw deleted_orders) are left out, and with them their lines and
-- refunds, which join on the kept order row. Incremental: rebuilds the orders with a new
-- version or deletion loaded since the previous build (macros/incremental.sql).
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }}
{{ config(
    materialized='incremental',
    incremental_strategy='rebuild_keys',
    unique_key='order_id',
    rebuild_keys='shopify_orders_loaded',
    on_schema_change='sync_all_columns',
) }}

with source as (
    select *
    from ({{ source_or_empty('raw_shopify', 'orders') }}) as raw_orders
    where {{ only_rebuilt('id', 'shopify_orders_loaded') }}
),

versions as (
    select order_id, _ingested_at
    from {{ ref('stg_shopify__order_versions') }}
    where is_new_version
        and {{ only_rebuilt('order_id', 'shopify_orders_loaded') }}
),

deleted as (
    select distinct order_id, shop_domain
    from ({{ source_or_empty('raw_shopify', 'deleted_orders') }}) as deleted_orders
),

latest as (
    select *
    from source
    where exists (
            select 1
            from versions
            where versions.order_id = source.id and versions._ingested_at = source._ingested_at
        )
        and not exists (
            select 1
            from deleted
            where deleted.order_id = source.id and deleted.shop_domain = source.shop_domain
        )
    qualify row_number() over (
        partition by id order by _ingested_at desc, _extract_run_id desc
    ) = 1
)

select
    id as order_id,
    name as order_name,
    order_number,
    created_at,
    updated_at,
    processed_at,
    cancelled_at,
    {{ local_date('created_at', 'shop_timezone') }} as order_date,
    financial_status,
    currency as currency_code,
    presentment_currency,
    total_price_presentment,
    total_line_items_price,
    total_discounts,
    subtotal_price,
    total_tax,
    total_shipping,
    total_price,
    customer_id,
    email_hash,
    phone_hash,
    nullif(trim(discount_codes), '') as discount_codes,
    landing_site,
    nullif(trim(referring_site), '') as referring_site,
    {{ url_param('landing_site', 'utm_source') }} as utm_source,
    {{ url_param('landing_site', 'utm_medium') }} as utm_medium,
    {{ url_param('landing_site', 'utm_campaign') }} as utm_campaign,
    {{ url_param('landing_site', 'utm_id') }} as utm_id,
    {{ url_param('landing_site', 'utm_content') }} as utm_content,
    {{ url_param('landing_site', 'utm_term') }} as utm_term,
    {{ url_param('landing_site', 'fbclid') }} as fbclid,
    {{ url_param('landing_site', 'gclid') }} as gclid,
    {{ url_param('landing_site', 'gbraid') }} as gbraid,
    {{ url_param('landing_site', 'wbraid') }} as wbraid,
    {{ url_param('landing_site', 'ttclid') }} as ttclid,
    source_name,
    shipping_country_code,
    shipping_province_code,
    coalesce(test, false) as is_test,
    shop_domain,
    shop_timezone,
    _extract_run_id,
    _ingested_at
from latest
{{ in_load_order() }}
