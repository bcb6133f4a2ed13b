-- One row per day, ad platform, account, campaign, ad group and ad. Meta and TikTok come at ad
-- level. Google comes at ad level where the campaign-day's ads add up to the campaign (spend to
-- the cent, impressions, clicks, conversions, conversion value); otherwise (Performance Max has
-- no ads; ad stats missing or from another extraction) as one campaign-level row with ad group
-- and ad NULL, so every platform-day adds up to its platform mart exactly.
with fx as (
    {{ fx_rates() }}
),

google_campaigns as (
    select * from {{ ref('google_ads_unified') }}
),

google_ads as (
    select
        ads.*,
        count(*) over campaign_day as campaign_ads,
        sum(ads.cost_micros) over campaign_day as campaign_micros,
        sum(ads.impressions) over campaign_day as campaign_impressions,
        sum(ads.clicks) over campaign_day as campaign_clicks,
        sum(ads.conversions) over campaign_day as campaign_conversions,
        sum(ads.conversion_value) over campaign_day as campaign_value,
        sum(ads.cost_micros) over running_ads as running_micros,
        sum(ads.conversion_value) over running_ads as running_value
    from {{ ref('stg_google_ads__ad_stats') }} as ads
    window
        campaign_day as (partition by ads.date, ads.account_id, ads.campaign_id),
        running_ads as (
            partition by ads.date, ads.account_id, ads.campaign_id
            order by ads.ad_group_id, ads.ad_id
            rows between unbounded preceding and current row
        )
),

-- Ads of campaign-days they add up to: Google rounds the campaign's micros half-even to the
-- cent; conversion values, rounded per ad, may be off by up to a cent per ad. Each ad gets its
-- cent share of the campaign's spend and conversion value: the running total rounded, minus
-- the same before the ad, so the ads add up to the campaign exactly.
google_ad_rows as (
    select
        ads.date,
        ads.account_id,
        campaigns.account_name,
        ads.campaign_id,
        campaigns.campaign_name,
        campaigns.campaign_status,
        ads.ad_group_id,
        ads.ad_group_name,
        ads.ad_id,
        ads.ad_name,
        campaigns.currency_code,
        {{ micros_to_money('ads.running_micros') }}
        - {{ micros_to_money('ads.running_micros - ads.cost_micros') }} as spend,
        ads.impressions,
        ads.clicks,
        ads.conversions,
        case
            when ads.campaign_value = 0 then 0
            else {{ money(
                'round(campaigns.conversion_value * ads.running_value / ads.campaign_value, 2)'
            ) }} - {{ money(
                'round(campaigns.conversion_value * (ads.running_value - ads.conversion_value)'
                ~ ' / ads.campaign_value, 2)'
            ) }}
        end as conversion_value
    from google_ads as ads
    inner join google_campaigns as campaigns
        on ads.date = campaigns.date
        and ads.account_id = campaigns.account_id
        and ads.campaign_id = campaigns.campaign_id
    where {{ micros_to_money('ads.campaign_micros') }} = campaigns.spend
        and ads.campaign_impressions = campaigns.impressions
        and ads.campaign_clicks = campaigns.clicks
        and abs(ads.campaign_conversions - campaigns.conversions) <= 1e-6
        and abs(ads.campaign_value - campaigns.conversion_value) <= 0.01 * ads.campaign_ads
        and (ads.campaign_value = 0) = (campaigns.conversion_value = 0)
),

rows_in_account_currency as (
    select
        date, 'meta' as platform, account_id, account_name, campaign_id, campaign_name,
        cast(null as varchar) as campaign_status, adset_id as ad_group_id,
        adset_name as ad_group_name, ad_id, ad_name, 'ad' as level, currency_code, spend,
        impressions, clicks, cast(purchases as double) as conversions,
        purchase_value as conversion_value
    from {{ ref('facebook_unified') }}

    union all

    select
        date, 'tiktok', account_id, account_name, campaign_id, campaign_name, null, adgroup_id,
        adgroup_name, ad_id, ad_name, 'ad', currency_code, spend, impressions, clicks,
        cast(conversions as double), conversion_value
    from {{ ref('tiktok_unified') }}

    union all

    select
        date, 'google', account_id, account_name, campaign_id, campaign_name, campaign_status,
        ad_group_id, ad_group_name, ad_id, ad_name, 'ad', currency_code, spend, impressions,
        clicks, conversions, conversion_value
    from google_ad_rows

    union all

    select
        campaigns.date, 'google', campaigns.account_id, campaigns.account_name,
        campaigns.campaign_id, campaigns.campaign_name, campaigns.campaign_status, null, null,
        null, null, 'campaign', campaigns.currency_code, campaigns.spend, campaigns.impressions,
        campaigns.clicks, campaigns.conversions, campaigns.conversion_value
    from google_campaigns as campaigns
    where not exists (
        select 1
        from google_ad_rows
        where google_ad_rows.date = campaigns.date
            and google_ad_rows.account_id = campaigns.account_id
            and google_ad_rows.campaign_id = campaigns.campaign_id
    )
),

-- Reporting-currency spend: each row's share of round(Σ spend × rate) per day, platform and
-- currency (as marketing_unified converts), by the same running-total rounding as above.
running as (
    select
        rows_in_account_currency.*,
        fx.rate,
        sum(spend) over (
            partition by date, platform, rows_in_account_currency.currency_code
            order by account_id, campaign_id, ad_group_id nulls first, ad_id nulls first
            rows between unbounded preceding and current row
        ) as running_spend
    from rows_in_account_currency
    left join fx on rows_in_account_currency.currency_code = fx.currency_code
)

select
    date,
    platform,
    account_id,
    account_name,
    campaign_id,
    campaign_name,
    campaign_status,
    ad_group_id,
    ad_group_name,
    ad_id,
    ad_name,
    level,
    currency_code,
    {{ money('spend') }} as spend,
    cast(impressions as bigint) as impressions,
    cast(clicks as bigint) as clicks,
    conversions,
    {{ money('conversion_value') }} as conversion_value,
    {{ safe_divide('clicks', 'impressions') }} as ctr,
    {{ safe_divide('spend', 'clicks') }} as cpc,
    {{ safe_divide('spend * 1000', 'impressions') }} as cpm,
    {{ safe_divide('conversion_value', 'spend') }} as platform_roas,
    cast({{ reporting_currency() }} as varchar) as reporting_currency_code,
    {{ to_reporting('running_spend', 'rate') }}
    - {{ to_reporting('(running_spend - spend)', 'rate') }} as spend_in_reporting_currency
from running
