-- Every marketing_unified row with one explanation_code and its text. The first that applies:
-- currency_mismatch (an amount without exchange rate), no_activity, organic (orders without
-- spend), ok (spend and orders); then for spend without attributed orders: not_yet_synced,
-- campaign_paused, click_id_only, attribution_lag, else missing_utms.
{%- set lag_days = var('attribution_lag_days', 7) | int %}
with marketing as (
    select * from {{ ref('marketing_unified') }}
),

shop_coverage as (
    select date, coverage_status
    from {{ ref('source_coverage_daily') }}
    where source = 'shopify'
),

-- Spend of campaigns the platform reports as paused or removed (Google; the others send none).
paused as (
    select
        date,
        platform as channel,
        sum(spend_in_reporting_currency)
            filter (where campaign_status in ('PAUSED', 'REMOVED')) as paused_spend,
        string_agg(distinct campaign_name, ', ' order by campaign_name)
            filter (where campaign_status in ('PAUSED', 'REMOVED') and spend > 0)
            as paused_campaigns
    from {{ ref('ad_performance_unified') }}
    group by date, platform
),

-- Orders carrying a platform's click id that their UTMs or discount code credited elsewhere.
click_ids as (
    select
        order_date as date,
        click_platform as channel,
        count(*) as orders,
        string_agg(distinct channel, ', ' order by channel) as credited_to
    from (
        select order_date, channel, 'google' as click_platform
        from {{ ref('shopify_unified') }}
        where coalesce(gclid, gbraid, wbraid) is not null
        union all
        select order_date, channel, 'meta'
        from {{ ref('shopify_unified') }}
        where fbclid is not null
        union all
        select order_date, channel, 'tiktok'
        from {{ ref('shopify_unified') }}
        where ttclid is not null
    ) as clicked
    where channel <> click_platform
    group by order_date, click_platform
),

later as (
    select
        marketing.date,
        marketing.channel,
        sum(following.attributed_orders) as orders,
        min(following.date) as first_date
    from marketing
    inner join marketing as following
        on marketing.channel = following.channel
        and following.date > marketing.date
        and following.date <= marketing.date + {{ lag_days }}
        and following.attributed_orders > 0
    group by marketing.date, marketing.channel
),

explained as (
    select
        marketing.*,
        coalesce(shop_coverage.coverage_status, 'not_yet_synced') as shop_coverage_status,
        {{ money('coalesce(paused.paused_spend, 0)') }} as paused_campaign_spend,
        paused.paused_campaigns,
        cast(coalesce(click_ids.orders, 0) as bigint) as click_id_orders_credited_elsewhere,
        click_ids.credited_to,
        cast(coalesce(later.orders, 0) as bigint) as orders_within_lag,
        later.first_date as next_order_date,
        case
            when marketing.spend is null or marketing.attributed_revenue is null
                then 'currency_mismatch'
            when marketing.spend = 0 and marketing.attributed_orders = 0 then 'no_activity'
            when marketing.spend = 0 then 'organic'
            when marketing.attributed_orders > 0 then 'ok'
            when coalesce(shop_coverage.coverage_status, 'not_yet_synced') = 'not_yet_synced'
                then 'not_yet_synced'
            when paused.paused_spend * 2 > marketing.spend then 'campaign_paused'
            when click_ids.orders > 0 then 'click_id_only'
            when later.orders > 0 then 'attribution_lag'
            else 'missing_utms'
        end as explanation_code
    from marketing
    left join shop_coverage
        on marketing.date = shop_coverage.date
    left join paused
        on marketing.date = paused.date
        and marketing.channel = paused.channel
    left join click_ids
        on marketing.date = click_ids.date
        and marketing.channel = click_ids.channel
    left join later
        on marketing.date = later.date
        and marketing.channel = later.channel
)

select
    date,
    channel,
    spend,
    impressions,
    clicks,
    attributed_orders,
    attributed_revenue,
    roas,
    currency_code,
    spend_original,
    original_currency_code,
    explanation_code,
    case explanation_code
        when 'currency_mismatch'
            then 'Spend or revenue is in a currency without an exchange rate into '
                || coalesce(currency_code, 'the reporting currency')
                || ': add the rate under [reporting.fx_rates] in martlake.toml.'
        when 'no_activity'
            then 'Impressions or clicks without spend or attributed orders: nothing to do.'
        when 'organic'
            then 'Orders credited to ' || channel || ' with no ad spend on it that day '
                || '(revenue without spend, organic): nothing to do.'
        when 'ok'
            then 'Spend and orders credited to ' || channel || ' on the same day.'
        when 'not_yet_synced'
            then 'The shop''s orders of this day are not loaded completely yet '
                || '(Shopify is ' || replace(shop_coverage_status, '_', ' ')
                || ' in source_coverage_daily): run martlake again after the day is over.'
        when 'campaign_paused'
            then 'Most of the spend went to campaigns now paused or removed on the platform ('
                || coalesce(paused_campaigns, 'unnamed') || '): check they were stopped on '
                || 'purpose; orders of a stopped campaign are expected to dry up.'
        when 'click_id_only'
            then cast(click_id_orders_credited_elsewhere as varchar) || ' order(s) that day '
                || 'carry a ' || channel || ' click id but no ' || channel || ' UTMs, so '
                || 'their UTMs or discount code credited them to ' || credited_to
                || ': add utm_source, utm_campaign and utm_id to the ads'' URLs.'
        when 'attribution_lag'
            then 'No order that day, but ' || cast(orders_within_lag as varchar)
                || ' order(s) credited to ' || channel || ' within {{ lag_days }} day(s) after '
                || '(first on ' || strftime(next_order_date, '%Y-%m-%d') || '): buyers '
                || 'convert later; judge ROAS over a longer window.'
        else 'No order credited to ' || channel || ' that day or within {{ lag_days }} '
            || 'day(s) after: the ads'' landing URLs probably lack UTM parameters; add '
            || 'utm_source, utm_campaign and utm_id to them (URL parameters or tracking '
            || 'template on the platform).'
    end as explanation,
    shop_coverage_status,
    paused_campaign_spend,
    click_id_orders_credited_elsewhere,
    orders_within_lag
from explained
