-- One row per load of a Shopify order (order id × `_ingested_at`): a fingerprint of what that
-- load brought (the order row, its lines, refund lines and refund transactions, without the
-- load's own columns) and whether it differs from the order's load before it. Shopify's
-- lookback window re-reads every order updated in the last days, most of them unchanged since
-- the previous run; only a load with `is_new_version` makes the order models rebuild the order
-- (macros/incremental.sql), and stg_shopify__orders keeps the first load of the latest
-- version. `changes_sale` tells a load that changed what the order-date side of the day and
-- month marts reads (the order row but its status and update time, and its lines) from one
-- that only brought refunds: a refund changes its refund day, not the month the order was
-- placed in. Each load also carries what those marts need to find the days it can change
-- (macros/incremental_dates.sql): the order's creation time and shop-local date, its customer,
-- and the shop-local days of the refunds it came with. Incremental: appends the loads after its
-- previous build.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
) }}

{%- set watermark = built_through() if is_incremental() else 'cast(null as timestamptz)' %}
{%- set loaded = loaded_after('_ingested_at', watermark) %}

with orders as (
    select
        id as order_id,
        _ingested_at,
        {{ rows_fingerprint() }} as order_hash,
        {{ rows_fingerprint(['updated_at', 'financial_status']) }} as order_sale_hash,
        max(created_at) as created_at,
        max({{ local_date('created_at', 'shop_timezone') }}) as order_date,
        max(shop_timezone) as shop_timezone,
        max({{ customer_key('customer_id', 'email_hash') }}) as customer_key
    from ({{ source_or_empty('raw_shopify', 'orders') }}) as raw_orders
    where {{ loaded }}
    group by id, _ingested_at
),

{%- for child in ['order_lines', 'refund_lines', 'refund_transactions'] %}

{{ child }} as (
    select
        order_id,
        _ingested_at,
        {{ rows_fingerprint() }} as child_hash
    from ({{ source_or_empty('raw_shopify', child) }}) as raw_children
    where {{ loaded }}
    group by order_id, _ingested_at
),
{%- endfor %}

refund_dates as (
    select
        refunds.order_id,
        refunds._ingested_at,
        list_sort(list(distinct {{
            local_date('refunds.refund_created_at', 'orders.shop_timezone')
        }})) as refund_dates
    from ({{ source_or_empty('raw_shopify', 'refund_lines') }}) as refunds
    inner join orders
        on refunds.order_id = orders.order_id
        and refunds._ingested_at = orders._ingested_at
    where refunds.refund_created_at is not null
        and {{ loaded_after('refunds._ingested_at', watermark) }}
    group by refunds.order_id, refunds._ingested_at
),

loads as (
    select
        orders.order_id,
        orders._ingested_at,
        hash(
            orders.order_hash,
            order_lines.child_hash,
            refund_lines.child_hash,
            refund_transactions.child_hash
        ) as version_fingerprint,
        hash(orders.order_sale_hash, order_lines.child_hash) as sale_fingerprint,
        orders.created_at,
        orders.order_date,
        orders.customer_key,
        coalesce(refund_dates.refund_dates, []) as refund_dates
    from orders
    {%- for child in ['order_lines', 'refund_lines', 'refund_transactions'] %}
    left join {{ child }}
        on orders.order_id = {{ child }}.order_id
        and orders._ingested_at = {{ child }}._ingested_at
    {%- endfor %}
    left join refund_dates
        on orders.order_id = refund_dates.order_id
        and orders._ingested_at = refund_dates._ingested_at
)

{%- if is_incremental() %},

built as (
    select
        order_id,
        arg_max(version_fingerprint, _ingested_at) as version_fingerprint,
        arg_max(sale_fingerprint, _ingested_at) as sale_fingerprint
    from {{ this }}
    where order_id in (select order_id from loads)
    group by order_id
)
{%- endif %}

select
    loads.order_id,
    loads._ingested_at,
    {#- Each fingerprint against the order's load before (in this build, else built before). #}
    {%- for fingerprint, differs in [
        ('version_fingerprint', 'is_new_version'), ('sale_fingerprint', 'changes_sale')
    ] %}
    loads.{{ fingerprint }},
    coalesce(
        lag(loads.{{ fingerprint }}) over (
            partition by loads.order_id order by loads._ingested_at
        ),
        {{ 'built.' ~ fingerprint if is_incremental() else 'null' }}
    ) is distinct from loads.{{ fingerprint }} as {{ differs }},
    {%- endfor %}
    loads.created_at,
    loads.order_date,
    loads.customer_key,
    loads.refund_dates
from loads
{%- if is_incremental() %}
left join built
    on loads.order_id = built.order_id
{%- endif %}
{{ in_load_order('_ingested_at, order_id') }}
