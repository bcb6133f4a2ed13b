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
  The newest `_ingested_at` of raw Shopify orders, order deletions and survey responses (which
  attribute orders): what an incremental build has seen.
-#}
{% macro shopify_ingested_through() -%}
    (
        select max(_ingested_at)
        from (
            select _ingested_at from ({{ source_or_empty('raw_shopify', 'orders') }}) as o
            union all
            select _ingested_at from ({{ source_or_empty('raw_shopify', 'deleted_orders') }}) as d
            union all
            select _ingested_at from ({{ source_or_empty('raw_fairing', 'responses') }}) as r
        ) as loads
    )
{%- endmacro %}

{#- Post-hook of the day and month marts: every row carries the newest load it reflects. -#}
{% macro stamp_ingested_through() -%}
    update {{ this }} set _ingested_through = {{ shopify_ingested_through() }}
    where _ingested_through is distinct from {{ shopify_ingested_through() }}
{%- endmacro %}
