-- Each non-test order's channel, ad platform and campaign. The first level that applies wins:
-- the customer's answer to a post-purchase survey (Fairing) that maps to a channel, a
-- configured discount code, then the UTM parameters of the landing URL, then a click id, then
-- the referring site, else direct. Campaign ids from the URL are matched against the
-- platform's campaigns; a survey or discount-code channel keeps the campaign of a lower level
-- on the same platform. Incremental: the orders loaded or surveyed since the previous build,
-- every order when the campaigns or the attribution settings changed (macros/incremental.sql).
-- depends_on: {{ ref('stg_shopify__order_versions') }}, {{ ref('stg_fairing__responses') }}
{{ config(
    materialized='incremental',
    incremental_strategy='rebuild_keys',
    unique_key='order_id',
    rebuild_keys='attributed_orders_to_rebuild',
    rebuild_all_without=['_attribution_fingerprint'],
    on_schema_change='sync_all_columns',
) }}

with orders as (
    select
        order_id,
        discount_codes,
        utm_source,
        lower(utm_medium) as utm_medium,
        utm_campaign,
        utm_id,
        fbclid,
        gclid,
        gbraid,
        wbraid,
        ttclid,
        referring_site,
        _ingested_at
    from {{ ref('stg_shopify__orders') }}
    where not is_test
        and {{ only_rebuilt('order_id', 'attributed_orders_to_rebuild') }}
),

campaigns as (
    select * from {{ ref('int_ad_campaigns') }}
),

rules as (
    {{ attribution_discount_code_relation() }}
),

{#- The order's first survey answer (of the attributing questions) that maps to a channel. #}
{%- set questions = var('attribution_survey_questions', []) or [] %}
survey as (
    select
        responses.order_id,
        {{ channel_of_survey_answer('responses.answer') }} as channel
    from {{ ref('stg_fairing__responses') }} as responses
    where responses.order_id in (select order_id from orders)
        and not responses.is_clarification
        and coalesce(lower(responses.order_platform), 'shopify') = 'shopify'
        and {{ channel_of_survey_answer('responses.answer') }} is not null
        {%- if questions %}
        and responses.question_id in ({{ questions | map('int') | join(', ') }})
        {%- endif %}
    qualify row_number() over (
        partition by responses.order_id
        order by
            coalesce(responses.response_provided_at, responses.inserted_at),
            responses.response_record_id
    ) = 1
),

codes as (
    select
        order_id,
        trim(unnest(string_split(discount_codes, ','))) as code,
        generate_subscripts(string_split(discount_codes, ','), 1) as code_position
    from orders
    where discount_codes is not null
),

-- The first rule (in config order) that matches any of the order's codes.
code_matches as (
    select
        codes.order_id,
        rules.channel,
        rules.campaign_id
    from codes
    inner join rules
        on codes.code ilike rules.pattern escape '\'
    qualify row_number() over (
        partition by codes.order_id order by rules.rule_number, codes.code_position
    ) = 1
),

url as (
    select
        *,
        case
            when utm_source is not null
                then coalesce(
                    {{ channel_of_utm_source('utm_source') }},
                    case when utm_medium = 'email' then 'email' end,
                    'other'
                )
            when utm_medium = 'email' then 'email'
        end as utm_channel,
        case
            when coalesce(gclid, gbraid, wbraid) is not null then 'google'
            when fbclid is not null then 'meta'
            when ttclid is not null then 'tiktok'
        end as click_platform
    from orders
),

url_platform as (
    select
        *,
        case
            when utm_channel in ('meta', 'google', 'tiktok') then utm_channel
            when utm_channel is null then click_platform
        end as url_platform
    from url
),

-- The URL's campaign on its platform: utm_id or utm_campaign as a known campaign id, else
-- utm_campaign as a known (unique) campaign name, else an unknown id-like utm_id.
url_campaign as (
    select
        url_platform.*,
        coalesce(
            by_id.campaign_id,
            by_campaign.campaign_id,
            by_name.campaign_id,
            case
                when url_platform.url_platform is not null
                    and regexp_full_match(url_platform.utm_id, '[0-9]{6,}')
                    then url_platform.utm_id
            end
        ) as url_campaign_id
    from url_platform
    left join campaigns as by_id
        on url_platform.url_platform = by_id.platform
        and url_platform.utm_id = by_id.campaign_id
    left join campaigns as by_campaign
        on url_platform.url_platform = by_campaign.platform
        and url_platform.utm_campaign = by_campaign.campaign_id
    left join campaigns as by_name
        on url_platform.url_platform = by_name.platform
        and {{ campaign_name_key('url_platform.utm_campaign') }} = by_name.campaign_name_key
        and by_name.campaign_name_is_unique
),

leveled as (
    select
        url_campaign.order_id,
        case
            when survey.order_id is not null then 'survey'
            when code_matches.order_id is not null then 'discount_code'
            when url_campaign.utm_channel is not null then 'utm'
            when url_campaign.click_platform is not null then 'click_id'
            when url_campaign.referring_site is not null then 'referrer'
            else 'direct'
        end as attribution_method,
        survey.channel as survey_channel,
        code_matches.channel as code_channel,
        code_matches.campaign_id as code_campaign_id,
        url_campaign.utm_channel,
        url_campaign.click_platform,
        url_campaign.url_platform,
        url_campaign.url_campaign_id,
        url_campaign._ingested_at
    from url_campaign
    left join code_matches
        on url_campaign.order_id = code_matches.order_id
    left join survey
        on url_campaign.order_id = survey.order_id
),

attributed as (
    select
        order_id,
        attribution_method,
        case attribution_method
            when 'survey' then survey_channel
            when 'discount_code' then code_channel
            when 'utm' then utm_channel
            when 'click_id' then click_platform
            when 'referrer' then 'referral'
            else 'direct'
        end as channel,
        case
            when attribution_method = 'survey'
                then coalesce(
                    case when code_channel = survey_channel then code_campaign_id end,
                    case when url_platform = survey_channel then url_campaign_id end
                )
            when attribution_method = 'discount_code'
                then coalesce(
                    code_campaign_id,
                    case when url_platform = code_channel then url_campaign_id end
                )
            when attribution_method in ('utm', 'click_id') then url_campaign_id
        end as campaign_id,
        _ingested_at
    from leveled
)

select
    attributed.order_id,
    attributed.channel,
    case
        when attributed.channel in ('meta', 'google', 'tiktok') then attributed.channel
    end as platform,
    attributed.campaign_id,
    campaigns.campaign_name,
    attributed.attribution_method,
    attributed._ingested_at,
    {{ attribution_fingerprint() }} as _attribution_fingerprint
from attributed
left join campaigns
    on attributed.channel = campaigns.platform
    and attributed.campaign_id = campaigns.campaign_id
{{ in_load_order() }}
