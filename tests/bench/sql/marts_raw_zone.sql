-- `make bench` marts: one extraction of a synthetic shop straight into the raw zone, in SQL.
-- Columns and types are the raw contract's (tests/fixtures/raw/raw_zone.sql, what the
-- connectors write through dlt). Parameters, replaced by bench_marts.py before running:
--   {first_day} {last_day}  the local days whose orders this extraction holds (inclusive)
--   {updated_from}          also every order refunded from this day to {last_day}: Shopify
--                           re-reads orders updated since the watermark minus the lookback
--   {opd}                   orders per day;   {run}   the extraction's run id
--   {ingested_at}           the extraction's load time, on every row it writes
--   {ad_first_day}          first day of the ad rows this extraction re-reads
-- Every order has two lines; 1 in 20 is refunded (its first line) 10 days after it was placed,
-- which the extraction sees when that day is before {last_day} + 1. An order comes with all its
-- lines and the refunds it has so far, as the connector writes it. Channels cycle through
-- Meta/Google/TikTok UTMs and click ids, email, referral and direct; about a third of the
-- orders come from returning customers.
create or replace temp table bench_order_ids as
select distinct n, day, i
from (
    select (cast(cast(day as date) - date '2020-01-01' as bigint)) * {opd} + i as n,
        cast(day as date) as day, i
    from (
        select unnest(generate_series(cast('{first_day}' as date), cast('{last_day}' as date),
            interval 1 day)) as day
    ) as days, range({opd}) as r(i)

    union all

    select (cast(cast(day as date) - 10 - date '2020-01-01' as bigint)) * {opd} + i,
        cast(day as date) - 10, i
    from (
        select unnest(generate_series(cast('{updated_from}' as date), cast('{last_day}' as date),
            interval 1 day)) as day
    ) as days, range({opd}) as r(i)
    where i % 20 = 7
) as wanted
where day >= cast('{data_start}' as date);

create or replace temp table bench_orders as
select
    n as id,
    day,
    timezone('America/New_York', cast(day as timestamp)
        + to_seconds(cast(i * 86400 / {opd} as bigint))) as created_at,
    case
        when i % 20 = 7 and day + 10 <= cast('{last_day}' as date)
            then timezone('America/New_York', cast(day + 10 as timestamp) + interval 15 hour)
    end as refunded_at,
    n % 10 as kind,
    20 + n % 50 as price_a,
    1 + n % 3 as quantity_a,
    15 + n % 30 as price_b,
    case when n % 10 = 0 then 2 else 0 end as discount_a,
    1 + (n * 7919) % greatest(cast({opd} as bigint) * 120, 1) as customer_id
from bench_order_ids;

insert into raw_shopify.orders
select
    id, '#' || id, id, created_at, coalesce(refunded_at, created_at), created_at, null,
    case when refunded_at is null then 'paid' else 'partially_refunded' end, 'USD', 'USD',
    price_a * quantity_a + price_b, discount_a, price_a * quantity_a + price_b - discount_a,
    round((price_a * quantity_a + price_b - discount_a) * 0.08, 2), 5,
    price_a * quantity_a + price_b - discount_a
        + round((price_a * quantity_a + price_b - discount_a) * 0.08, 2) + 5,
    customer_id, md5(cast(customer_id as varchar)), null,
    case when discount_a > 0 then 'WELCOME10' end,
    case
        when kind < 3 then '/?utm_source=facebook&utm_medium=paid_social&utm_id=2385000'
            || (kind + 1) || '&fbclid=fb' || id
        when kind < 5 then '/?utm_source=google&utm_medium=cpc&utm_id=2100000000' || kind
            || '&gclid=g' || id
        when kind = 5 then '/?utm_source=tiktok&utm_medium=paid&ttclid=t' || id
        when kind = 6 then '/?utm_source=newsletter&utm_medium=email'
        else '/'
    end,
    case when kind = 7 then 'https://blog.example.com/' end,
    'web', 'US', 'NY', false, 'bench.myshopify.com', 'America/New_York',
    'shopify', '{run}', {ingested_at}, '{run}', md5('o' || id)
from bench_orders;

insert into raw_shopify.order_lines
select
    id * 2 + line, id, 9000 + line * 10 + id % 10, 9100 + line * 10 + id % 10,
    'SKU-' || (line * 10 + id % 10), 'Product ' || (line * 10 + id % 10), 'Default',
    case when line = 0 then quantity_a else 1 end,
    case when line = 0 then price_a else price_b end,
    case when line = 0 then discount_a else 0 end,
    'bench.myshopify.com', 'shopify', '{run}', {ingested_at}, '{run}', md5('l' || id || line)
from bench_orders, (select unnest([0, 1]) as line);

-- The refund of each refunded order (its first line), with the order's version.
insert into raw_shopify.refund_lines
select
    id * 2, id, id, id * 2, quantity_a, price_a * quantity_a - discount_a, 0, refunded_at,
    'bench.myshopify.com', 'shopify', '{run}', {ingested_at}, '{run}', md5('r' || id)
from bench_orders
where refunded_at is not null;

-- The snapshot of unit costs every Shopify extraction takes (the same costs each time).
create table if not exists raw_shopify.variant_costs (
    product_id bigint, variant_id bigint, inventory_item_id bigint, sku varchar,
    product_title varchar, variant_title varchar, unit_cost decimal(18, 2),
    cost_updated_at timestamptz, shop_domain varchar, _source varchar, _extract_run_id varchar,
    _ingested_at timestamptz
);

insert into raw_shopify.variant_costs
select
    9000 + v, 9100 + v, 47000 + v, 'SKU-' || v, 'Product ' || v, 'Default', 6 + v % 13,
    timestamptz '2024-12-01 00:00:00+00', 'bench.myshopify.com', 'shopify', '{run}',
    {ingested_at}
from range(20) as vs(v);

create or replace temp table bench_ad_days as
select cast(unnest(generate_series(cast('{ad_first_day}' as date), cast('{last_day}' as date),
    interval 1 day)) as date) as day;

insert into raw_meta_ads.insights
select
    '111', 'Bench', 'USD', 'America/New_York', day, day, '2385000' || c, 'Meta ' || c,
    '2385000' || c || a, 'Set ' || a, '2385000' || c || a || '1', 'Ad ' || a,
    round(50 + (c * 13 + a * 7 + (day - date '2020-01-01')) % 90, 2), 10000, 200, 5, 400,
    '[]', 'meta_ads', '{run}', {ingested_at}, '{run}', md5('m' || day || c || a)
from bench_ad_days, range(1, 4) as cs(c), range(1, 7) as ads(a);

insert into raw_meta_ads.extract_windows
values ('111', cast('{ad_first_day}' as date), cast('{last_day}' as date), 'meta_ads', '{run}',
    {ingested_at}, '{run}', md5('mw{run}'));

insert into raw_google_ads.campaign_stats
select
    '1234567890', 'Bench', 'USD', 'America/New_York', day, '2100000000' || c, 'Google ' || c,
    'ENABLED', 'SEARCH', (80 + (c * 11 + (day - date '2020-01-01')) % 70) * 1000000 + 123457,
    8000, 300,
    6.0, 500.0, 'google_ads', '{run}', {ingested_at}, '{run}', md5('g' || day || c)
from bench_ad_days, range(3, 5) as cs(c);

insert into raw_google_ads.extract_windows
values ('1234567890', cast('{ad_first_day}' as date), cast('{last_day}' as date), 'google_ads',
    '{run}', {ingested_at}, '{run}', md5('gw{run}'));

insert into raw_tiktok_ads.ad_stats
select
    '7000000000000000001', 'Bench', 'USD', 'America/New_York', day, '18000000000000000' || c,
    'TikTok ' || c, '17900000000000000' || c, 'Group ' || c, '17800000000000000' || c || a,
    'Video ' || a, round(30 + (c * 5 + a + (day - date '2020-01-01')) % 40, 2), 6000, 90, 2,
    150, 'tiktok_ads', '{run}', {ingested_at}, '{run}', md5('t' || day || c || a)
from bench_ad_days, range(1, 3) as cs(c), range(1, 5) as ads(a);

insert into raw_tiktok_ads.extract_windows
values ('7000000000000000001', cast('{ad_first_day}' as date), cast('{last_day}' as date),
    'tiktok_ads', '{run}', {ingested_at}, '{run}', md5('tw{run}'));
