{#- The N-day horizons of customer_ltv. -#}
{% macro ltv_horizons() -%}
    {{ return([30, 60, 90, 180, 365]) }}
{%- endmacro %}

{#-
  The day the customer marts are "as of": the latest day with an order or a refund
  (the last day of shopify_daily_metrics). A period counts as elapsed once it ended before it.
-#}
{% macro ltv_as_of_date() -%}
    (select max(date) from {{ ref('shopify_daily_metrics') }})
{%- endmacro %}

{#-
  The newest `_ingested_at` of raw Shopify orders and order deletions: what an incremental
  build has seen.
-#}
{% macro shopify_ingested_through() -%}
    (
        select max(_ingested_at)
        from (
            select _ingested_at from ({{ source_or_empty('raw_shopify', 'orders') }}) as o
            union all
            select _ingested_at from ({{ source_or_empty('raw_shopify', 'deleted_orders') }}) as d
        ) as loads
    )
{%- endmacro %}
