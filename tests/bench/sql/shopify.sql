-- DuckDB's own path for Shopify: orders pages on disk (one `{"orders": [...]}` body per file) to
-- the raw tables ShopifySource writes, with the same columns, types and normalisation.
-- Placeholders: @pages@ (glob), @shop@, @timezone@, @run_id@, @country@ (default phone prefix).
CREATE TEMP MACRO digits(p) AS regexp_replace(p, '[^0-9]', '', 'g');
CREATE TEMP MACRO e164(p, cc) AS CASE
    WHEN p IS NULL OR digits(p) = '' THEN NULL
    WHEN starts_with(trim(p), '+') THEN '+' || digits(p)
    WHEN starts_with(digits(p), '00') THEN '+' || digits(p)[3:]
    WHEN cc = '1' AND length(digits(p)) = 11 AND starts_with(digits(p), '1') THEN '+' || digits(p)
    ELSE '+' || cc || ltrim(digits(p), '0')
END;
CREATE TEMP MACRO money(v) AS CAST(nullif(CAST(v AS VARCHAR), '') AS DECIMAL(18, 2));
-- Shop-currency amount: `<field>_set.shop_money.amount` when sent, else the plain field.
CREATE TEMP MACRO shop_money(money_set, plain) AS coalesce(money(money_set.shop_money.amount), money(plain));

CREATE TEMP TABLE pages AS
SELECT unnest(orders) AS o
FROM read_json_auto('@pages@');

CREATE TABLE raw_shopify.orders AS
SELECT
    CAST(o.id AS BIGINT) AS id,
    CAST(o.name AS VARCHAR) AS name,
    CAST(o.order_number AS BIGINT) AS order_number,
    CAST(o.created_at AS TIMESTAMPTZ) AS created_at,
    CAST(o.updated_at AS TIMESTAMPTZ) AS updated_at,
    CAST(o.processed_at AS TIMESTAMPTZ) AS processed_at,
    CAST(o.cancelled_at AS TIMESTAMPTZ) AS cancelled_at,
    CAST(o.financial_status AS VARCHAR) AS financial_status,
    CAST(o.currency AS VARCHAR) AS currency,
    CAST(coalesce(o.presentment_currency, o.currency) AS VARCHAR) AS presentment_currency,
    shop_money(o.total_line_items_price_set, o.total_line_items_price) AS total_line_items_price,
    shop_money(o.total_discounts_set, o.total_discounts) AS total_discounts,
    shop_money(o.subtotal_price_set, o.subtotal_price) AS subtotal_price,
    shop_money(o.total_tax_set, o.total_tax) AS total_tax,
    CAST(coalesce(
        money(o.total_shipping_price_set.shop_money.amount),
        CASE WHEN len(o.shipping_lines) > 0
            THEN list_sum(list_transform(o.shipping_lines, lambda s: coalesce(money(s.price), 0)))
        END,
        0
    ) AS DECIMAL(18, 2)) AS total_shipping,
    shop_money(o.total_price_set, o.total_price) AS total_price,
    coalesce(
        money(o.total_price_set.presentment_money.amount),
        CASE WHEN coalesce(o.presentment_currency, o.currency) = o.currency
            THEN money(o.total_price) END
    ) AS total_price_presentment,
    CAST(o.customer.id AS BIGINT) AS customer_id,
    sha256(nullif(lower(trim(coalesce(nullif(o.email, ''), o.customer.email))), '')) AS email_hash,
    sha256(e164(coalesce(nullif(CAST(o.phone AS VARCHAR), ''), o.customer.phone), '@country@'))
        AS phone_hash,
    nullif(array_to_string(list_filter(
        list_transform(o.discount_codes, lambda d: d.code), lambda c: coalesce(c, '') <> ''
    ), ','), '') AS discount_codes,
    CAST(o.landing_site AS VARCHAR) AS landing_site,
    CAST(o.referring_site AS VARCHAR) AS referring_site,
    CAST(o.source_name AS VARCHAR) AS source_name,
    CAST(o.shipping_address.country_code AS VARCHAR) AS shipping_country_code,
    CAST(o.shipping_address.province_code AS VARCHAR) AS shipping_province_code,
    coalesce(CAST(o.test AS BOOLEAN), false) AS test,
    '@shop@' AS shop_domain,
    '@timezone@' AS shop_timezone,
    'shopify' AS _source,
    '@run_id@' AS _extract_run_id,
    CAST(now() AS TIMESTAMPTZ) AS _ingested_at
FROM pages;

CREATE TABLE raw_shopify.order_lines AS
WITH items AS (SELECT o.id AS order_id, unnest(o.line_items) AS li FROM pages)
SELECT
    CAST(li.id AS BIGINT) AS id,
    CAST(order_id AS BIGINT) AS order_id,
    CAST(li.product_id AS BIGINT) AS product_id,
    CAST(li.variant_id AS BIGINT) AS variant_id,
    CAST(li.sku AS VARCHAR) AS sku,
    CAST(li.title AS VARCHAR) AS title,
    CAST(li.variant_title AS VARCHAR) AS variant_title,
    CAST(li.quantity AS BIGINT) AS quantity,
    shop_money(li.price_set, li.price) AS price,
    CAST(CASE WHEN len(li.discount_allocations) > 0
        THEN list_sum(list_transform(
            li.discount_allocations, lambda a: coalesce(shop_money(a.amount_set, a.amount), 0)
        ))
        ELSE coalesce(shop_money(li.total_discount_set, li.total_discount), 0)
    END AS DECIMAL(18, 2)) AS discount,
    '@shop@' AS shop_domain,
    'shopify' AS _source,
    '@run_id@' AS _extract_run_id,
    CAST(now() AS TIMESTAMPTZ) AS _ingested_at
FROM items;

CREATE TABLE raw_shopify.refund_lines AS
WITH refunds AS (SELECT o.id AS order_id, unnest(o.refunds) AS r FROM pages),
refund_items AS (SELECT order_id, r, unnest(r.refund_line_items) AS rli FROM refunds)
SELECT
    CAST(rli.id AS BIGINT) AS id,
    CAST(r.id AS BIGINT) AS refund_id,
    CAST(order_id AS BIGINT) AS order_id,
    CAST(rli.line_item_id AS BIGINT) AS line_item_id,
    CAST(rli.quantity AS BIGINT) AS quantity,
    shop_money(rli.subtotal_set, rli.subtotal) AS subtotal,
    shop_money(rli.total_tax_set, rli.total_tax) AS total_tax,
    CAST(r.created_at AS TIMESTAMPTZ) AS refund_created_at,
    '@shop@' AS shop_domain,
    'shopify' AS _source,
    '@run_id@' AS _extract_run_id,
    CAST(now() AS TIMESTAMPTZ) AS _ingested_at
FROM refund_items;

CREATE TABLE raw_shopify.refund_transactions AS
WITH refunds AS (SELECT o.id AS order_id, unnest(o.refunds) AS r FROM pages),
txns AS (SELECT order_id, r, unnest(r.transactions) AS t FROM refunds)
SELECT
    CAST(t.id AS BIGINT) AS id,
    CAST(r.id AS BIGINT) AS refund_id,
    CAST(order_id AS BIGINT) AS order_id,
    CAST(t.kind AS VARCHAR) AS kind,
    CAST(t.status AS VARCHAR) AS status,
    CAST(t.gateway AS VARCHAR) AS gateway,
    money(t.amount) AS amount,
    CAST(t.currency AS VARCHAR) AS currency,
    CAST(coalesce(t.processed_at, t.created_at) AS TIMESTAMPTZ) AS processed_at,
    CAST(t.created_at AS TIMESTAMPTZ) AS created_at,
    '@shop@' AS shop_domain,
    'shopify' AS _source,
    '@run_id@' AS _extract_run_id,
    CAST(now() AS TIMESTAMPTZ) AS _ingested_at
FROM txns;
