{#-
  Incremental builds of the Shopify marts by day or month (shopify_daily_metrics,
  product_performance, sales_by_geography, int_customers__monthly).

  Such a mart stamps every row with `_ingested_through`, the newest raw Shopify load it
  reflects (`shopify_ingested_through()`, set by a post-hook, so a full refresh holds the same
  value). A build recomputes, in full, only the shop-local days (or their months) that the
  orders with a new version or deleted since then can have changed, and keeps the rows of
  every other day:
  - the order date of every raw version of those orders (old and new, deleted ones too),
    unless their new loads only brought refunds (`changes_sale` in stg_shopify__order_versions:
    the order row but its status and update time, and its lines, are as before);
  - the refund date of every raw refund line that came with one of those versions;
  - for the marts that tell first from returning customers (`customers=true`): per customer of
    the versions of the orders whose sale side changed, the day of its first order among the
    other orders, if a version of a changed order of the customer comes before it. No other
    order of theirs can have changed between first and returning customer but changed ones.
  Nothing else moves an order between days: refunds and order edits arrive as a new version of
  their order. A mart whose table has no `_ingested_through` yet rebuilds every day.
-#}

{#- The newest raw Shopify load the day/month mart reflects; NULL: rebuild everything. -#}
{% macro dates_built_through() -%}
    {{ watermark_literal(this, '_ingested_through') }}
{%- endmacro %}

{#-
  The shop-local days to recompute (a query of one column, `date`); with `customers`, also the
  days whose orders can have changed between first and returning customer.
-#}
{% macro shopify_dates_to_rebuild(customers=false) -%}
    with loaded as (
        {{ shopify_orders_changed_after(dates_built_through()) }}
    ),

    {#- The orders whose order-date side changed: a load changed the order row or its lines,
        or the order was deleted. A load that brought only refunds changes refund days. #}
    sold as (
        select order_id
        from {{ ref('stg_shopify__order_versions') }}
        where changes_sale and {{ loaded_after('_ingested_at', dates_built_through()) }}
        union
        select order_id
        from ({{ source_or_empty('raw_shopify', 'deleted_orders') }}) as deleted_orders
        where {{ loaded_after('_ingested_at', dates_built_through()) }}
    ),

    all_versions as (
        select order_id, created_at, order_date, customer_key, refund_dates
        from {{ ref('stg_shopify__order_versions') }}
        where order_id in (select order_id from loaded)
    ),

    versions as (
        select *
        from all_versions
        where order_id in (select order_id from sold)
    )
    {%- if customers %},

    {#-
      Per customer of those versions, its first order among the orders whose sale side did
      not change since the previous build (a refund-only change moves no order). Only that
      order of theirs can have changed between first and returning customer besides the
      changed ones, and only if a version of a changed order of the customer comes before it.
    #}
    kept_firsts as (
        select
            sequenced.customer_key,
            sequenced.order_id,
            sequenced.order_date,
            sequenced.created_at
        from {{ ref('int_orders__sequenced') }} as sequenced
        left join sold
            on sequenced.order_id = sold.order_id
        where sold.order_id is null
            and sequenced.customer_key in (select customer_key from versions)
        qualify row_number() over (
            partition by sequenced.customer_key
            order by sequenced.created_at, sequenced.order_id
        ) = 1
    )
    {%- endif %}

    select order_date as date
    from versions

    union

    select unnest(refund_dates) as date
    from all_versions
    {%- if customers %}

    union

    select kept_firsts.order_date as date
    from kept_firsts
    where exists (
        select 1
        from versions
        where versions.customer_key = kept_firsts.customer_key
            and (
                versions.created_at < kept_firsts.created_at
                or (
                    versions.created_at = kept_firsts.created_at
                    and versions.order_id < kept_firsts.order_id
                )
            )
    )
    {%- endif %}
{%- endmacro %}

{#- The last day of shopify_daily_metrics: the last order or refund of a non-test order. -#}
{% macro shopify_daily_last_date() -%}
    greatest(
        (select max(order_date) from {{ ref('shopify_unified') }}),
        (
            select max(refunds.refund_date)
            from {{ ref('stg_shopify__refund_lines') }} as refunds
            where refunds.order_id in (select order_id from {{ ref('shopify_unified') }})
        )
    )
{%- endmacro %}

{#- Rebuild keys (months) of product_performance: the months of the days to recompute, every
    month when the unit costs changed, and those of the variants named otherwise now (their
    latest sale changed). -#}
{% macro product_months_to_rebuild() -%}
    select distinct cast(date_trunc('month', date) as date) as month
    from ({{ shopify_dates_to_rebuild() }}) as dates
    union
    select month
    from {{ this }}
    where _cost_fingerprint is distinct from {{ cost_fingerprint() }}
    union
    select built.month
    from {{ this }} as built
    inner join {{ ref('int_product_variants') }} as names
        on built.product_id is not distinct from names.product_id
        and built.variant_id is not distinct from names.variant_id
    where (built.product_title, built.variant_title, built.sku)
        is distinct from (names.product_title, names.variant_title, names.sku)
{%- endmacro %}

{#- Rebuild keys (months) of sales_by_geography and int_customers__monthly. -#}
{% macro order_months_to_rebuild() -%}
    select distinct cast(date_trunc('month', date) as date) as month
    from ({{ shopify_dates_to_rebuild(customers=true) }}) as dates
{%- endmacro %}

{#-
  Rebuild keys (variant_key) of int_product_variants: the variants sold in the orders changed
  since its previous build, and those whose latest sale was in one of them.
-#}
{% macro product_variants_to_rebuild() -%}
    select {{ variant_key() }}
    from {{ ref('int_product_sales__dated') }}
    where movement = 'sale'
        and order_id in ({{ shopify_orders_changed_after(dates_built_through()) }})
    union
    select variant_key
    from {{ this }}
    where latest_sale_order_id in ({{ shopify_orders_changed_after(dates_built_through()) }})
{%- endmacro %}

{#- What the cost of goods of product_performance depends on besides its sales: the unit
    costs and their periods (stg_shopify__variant_costs). When it changes, every month is
    recomputed. -#}
{% macro cost_fingerprint() -%}
    (
        select md5(coalesce(string_agg(
            concat_ws('|', shop_domain, variant_id, cost_period, unit_cost, valid_from),
            ',' order by shop_domain, variant_id, cost_period
        ), ''))
        from {{ ref('stg_shopify__variant_costs') }}
    )
{%- endmacro %}
