{#- Money is DECIMAL(18,2) from the raw zone to the marts. -#}
{% macro money(expression) -%}
    cast({{ expression }} as decimal(18, 2))
{%- endmacro %}

{#-
  Google Ads micros (int64, 1,000,000 per currency unit) to money, rounded half-even as Google
  rounds cost for display. The one place micros become money: campaign-day cost is rounded once
  to the cent (scale 2); ad-level spend keeps scale 6, which is exact, so ads add up to their
  campaign and ad_performance_unified hands out each campaign-day's cents with this macro too.
-#}
{% macro micros_to_money(micros, scale=2) -%}
    {{ return(adapter.dispatch('micros_to_money', 'martlake')(micros, scale)) }}
{%- endmacro %}

{% macro default__micros_to_money(micros, scale) -%}
    cast(
        round_even(cast({{ micros }} as decimal(38, 0)) * 0.000001, {{ scale }})
        as decimal(18, {{ scale }})
    )
{%- endmacro %}

{#- BigQuery: ROUND(NUMERIC, scale, 'ROUND_HALF_EVEN') (GoogleSQL mathematical functions). -#}
{% macro bigquery__micros_to_money(micros, scale) -%}
    cast(
        round(cast({{ micros }} as bignumeric) / 1000000, {{ scale }}, 'ROUND_HALF_EVEN')
        as numeric(18, {{ scale }})
    )
{%- endmacro %}
