-- One row per day, ad platform and campaign: the platform's delivery and conversions, and the
-- orders attributed to the campaign (shopify_unified) on their order date. Amounts are in the
-- reporting currency, converted per day, campaign and currency as marketing_unified does.
with fx as (
    {{ fx_rates() }}
),

ad_rows as (
    select
        date, 'meta' as platform, account_id, campaign_id, currency_code, spend, impressions,
        clicks, cast(purchases as double) as conversions, purchase_value as conversion_value
    from {{ ref('facebook_unified') }}

    union all

    select
        date, 'google' as platform, account_id, campaign_id, currency_code, spend, impressions,
        clicks, cast(conversions as double) as conversions, conversion_value
    from {{ ref('google_ads_unified') }}

    union all

    select
        date, 'tiktok' as platform, account_id, campaign_id, currency_code, spend, impressions,
        clicks, cast(conversions as double) as conversions, conversion_value
    from {{ ref('tiktok_unified') }}
),

ads_by_currency as (
    select
        date,
        platform,
        campaign_id,
        currency_code,
        min(account_id) as account_id,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(conversions) as conversions,
        sum(conversion_value) as conversion_value
    from ad_rows
    group by date, platform, campaign_id, currency_code
),

ads as (
    select
        a.date,
        a.platform,
        a.campaign_id,
        min(a.account_id) as account_id,
        string_agg(distinct a.currency_code, ',' order by a.currency_code) as account_currency_code,
        case when count(distinct a.currency_code) = 1 then sum(a.spend) end
            as spend_in_account_currency,
        case when count(*) = count(fx.rate) then sum({{ to_reporting('a.spend', 'fx.rate') }}) end
            as spend,
        sum(a.impressions) as impressions,
        sum(a.clicks) as clicks,
        sum(a.conversions) as conversions,
        case
            when count(*) = count(fx.rate)
                then sum({{ to_reporting('a.conversion_value', 'fx.rate') }})
        end as conversion_value
    from ads_by_currency as a
    left join fx on a.currency_code = fx.currency_code
    group by a.date, a.platform, a.campaign_id
),

orders_by_currency as (
    select
        order_date as date,
        platform,
        campaign_id,
        currency_code,
        count(*) as attributed_orders,
        count(*) filter (where is_new_customer) as attributed_new_customer_orders,
        sum(net_sales) as attributed_revenue
    from {{ ref('shopify_unified') }}
    where platform is not null and campaign_id is not null
    group by order_date, platform, campaign_id, currency_code
),

orders as (
    select
        o.date,
        o.platform,
        o.campaign_id,
        sum(o.attributed_orders) as attributed_orders,
        sum(o.attributed_new_customer_orders) as attributed_new_customer_orders,
        case
            when count(*) = count(fx.rate)
                then sum({{ to_reporting('o.attributed_revenue', 'fx.rate') }})
        end as attributed_revenue
    from orders_by_currency as o
    left join fx on o.currency_code = fx.currency_code
    group by o.date, o.platform, o.campaign_id
),

joined as (
    select
        coalesce(ads.date, orders.date) as date,
        coalesce(ads.platform, orders.platform) as platform,
        coalesce(ads.campaign_id, orders.campaign_id) as campaign_id,
        ads.account_id,
        ads.account_currency_code,
        {{ money('case when ads.date is null then 0 else ads.spend end') }} as spend,
        {{ money('case when ads.date is null then 0 else ads.spend_in_account_currency end') }}
            as spend_in_account_currency,
        cast(coalesce(ads.impressions, 0) as bigint) as impressions,
        cast(coalesce(ads.clicks, 0) as bigint) as clicks,
        coalesce(ads.conversions, 0) as conversions,
        {{ money('case when ads.date is null then 0 else ads.conversion_value end') }}
            as conversion_value,
        cast(coalesce(orders.attributed_orders, 0) as bigint) as attributed_orders,
        cast(coalesce(orders.attributed_new_customer_orders, 0) as bigint)
            as attributed_new_customer_orders,
        {{ money('case when orders.date is null then 0 else orders.attributed_revenue end') }}
            as attributed_revenue
    from ads
    full outer join orders
        on ads.date = orders.date
        and ads.platform = orders.platform
        and ads.campaign_id = orders.campaign_id
)

select
    joined.date,
    joined.platform,
    coalesce(joined.account_id, campaigns.account_id) as account_id,
    joined.campaign_id,
    campaigns.campaign_name,
    cast({{ reporting_currency() }} as varchar) as currency_code,
    joined.spend,
    joined.impressions,
    joined.clicks,
    joined.conversions,
    joined.conversion_value,
    {{ safe_divide('joined.clicks', 'joined.impressions') }} as ctr,
    {{ safe_divide('joined.spend', 'joined.clicks') }} as cpc,
    {{ safe_divide('joined.spend * 1000', 'joined.impressions') }} as cpm,
    {{ safe_divide('joined.spend', 'joined.conversions') }} as cpa,
    {{ safe_divide('joined.conversions', 'joined.clicks') }} as conversion_rate,
    {{ safe_divide('joined.conversion_value', 'joined.spend') }} as platform_roas,
    joined.attributed_orders,
    joined.attributed_new_customer_orders,
    joined.attributed_revenue,
    {{ safe_divide('joined.attributed_revenue', 'joined.spend') }} as roas,
    {{ safe_divide('joined.spend', 'joined.attributed_orders') }} as attributed_cpa,
    coalesce(joined.account_currency_code, campaigns.currency_code) as account_currency_code,
    joined.spend_in_account_currency
from joined
left join {{ ref('int_ad_campaigns') }} as campaigns
    on joined.platform = campaigns.platform
    and joined.campaign_id = campaigns.campaign_id
