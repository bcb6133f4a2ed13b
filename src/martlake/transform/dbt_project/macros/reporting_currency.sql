{#-
  The one currency marketing_unified adds amounts up in, and the fixed rates into it.
  Vars (from `[reporting]` in martlake.toml): `reporting_currency` (default: the shop's currency,
  else the first ad platform's) and `fx_rates`, a mapping `{"EUR": "1.08"}` meaning
  1 EUR = 1.08 of the reporting currency.
-#}
{% macro reporting_currency() -%}
    {%- set configured = var('reporting_currency', none) -%}
    {%- if configured -%}
        '{{ configured }}'
    {%- else -%}
        coalesce(
            (select min(currency_code) from {{ ref('shopify_unified') }}),
            (select min(currency_code) from {{ ref('facebook_unified') }}),
            (select min(currency_code) from {{ ref('google_ads_unified') }}),
            (select min(currency_code) from {{ ref('tiktok_unified') }})
        )
    {%- endif -%}
{%- endmacro %}

{#- A relation (currency_code, rate): every currency with a rate into the reporting one. -#}
{% macro fx_rates() -%}
    select currency_code, rate
    from (
        select {{ reporting_currency() }} as currency_code, cast(1 as decimal(18, 8)) as rate, 0 as priority
        {%- for code, rate in (var('fx_rates', {}) or {}).items() %}
        union all
        select '{{ code }}', cast('{{ rate }}' as decimal(18, 8)), 1
        {%- endfor %}
    )
    qualify row_number() over (partition by currency_code order by priority) = 1
{%- endmacro %}

{#- `amount` in the reporting currency, to the cent; NULL when `currency` has no rate. -#}
{% macro to_reporting(amount, rate) -%}
    cast(round({{ amount }} * {{ rate }}, 2) as decimal(18, 2))
{%- endmacro %}
