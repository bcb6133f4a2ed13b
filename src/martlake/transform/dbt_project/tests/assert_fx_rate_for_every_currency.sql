-- marketing_unified cannot add up amounts of a currency without a rate into the reporting one:
-- stop the run with one line naming the currencies and the config key to set.
with currencies as (
    select currency_code from {{ ref('facebook_unified') }}
    union
    select currency_code from {{ ref('google_ads_unified') }}
    union
    select currency_code from {{ ref('tiktok_unified') }}
    union
    select currency_code from {{ ref('shopify_unified') }}
),

missing as (
    select
        string_agg('`' || c.currency_code || '`', ', ' order by c.currency_code) as codes,
        min(c.currency_code) as first_code,
        any_value({{ reporting_currency() }}) as reporting
    from currencies as c
    left join ({{ fx_rates() }}) as fx on c.currency_code = fx.currency_code
    where c.currency_code is not null and fx.rate is null
)

-- dbt counts the rows of this query, so the error must sit where it is evaluated: the filter.
select first_code as failure
from missing
where codes is not null
    and error(
        'marketing_unified: no exchange rate into the reporting currency `' || reporting
        || '` for ' || codes || ': set `reporting.fx_rates.' || first_code
        || '` in martlake.toml, e.g. [reporting.fx_rates] ' || first_code || ' = "1.08"'
        || ' (1 ' || first_code || ' in ' || reporting || '), or set `reporting.currency`'
    ) is null
