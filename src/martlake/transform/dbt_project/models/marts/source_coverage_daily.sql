-- One row per day and configured source, from the first to the last day any source has data.
-- A source is synced over [first_synced_date, synced_through]: for an ad source from the first
-- to the last day its extractions read (extract_windows) or returned rows for; for Shopify from
-- its first order to the day before the shop-local day of its latest extraction, which was only
-- read up to the time the extraction ran.
{%- set sources = coverage_sources() %}
with daily as (
    select 'shopify' as source, order_date as date, count(*) as row_count,
        max(_ingested_at) as last_ingested_at
    from {{ ref('stg_shopify__orders') }}
    group by order_date

    union all

    select 'meta_ads', date, count(*), max(_ingested_at)
    from {{ ref('stg_meta_ads__insights') }}
    group by date

    union all

    select 'google_ads', date, count(*), max(_ingested_at)
    from {{ ref('stg_google_ads__campaign_stats') }}
    group by date

    union all

    select 'tiktok_ads', date, count(*), max(_ingested_at)
    from {{ ref('stg_tiktok_ads__ad_stats') }}
    group by date
),

windows as (
    select 'meta_ads' as source, date_start, date_end
    from ({{ source_or_empty('raw_meta_ads', 'extract_windows') }}) as meta_windows

    union all

    select 'google_ads', date_start, date_end
    from ({{ source_or_empty('raw_google_ads', 'extract_windows') }}) as google_windows

    union all

    select 'tiktok_ads', date_start, date_end
    from ({{ source_or_empty('raw_tiktok_ads', 'extract_windows') }}) as tiktok_windows
),

{#- Per timezone first (a local date grows with the time): one conversion per shop, not per
    order. #}
shopify_extracted as (
    select
        'shopify' as source,
        min({{ local_date('first_created_at', 'shop_timezone') }}) as date_start,
        max({{ local_date('last_ingested_at', 'shop_timezone') }}) - 1 as date_end
    from (
        select
            shop_timezone,
            min(created_at) as first_created_at,
            max(_ingested_at) as last_ingested_at
        from ({{ source_or_empty('raw_shopify', 'orders') }}) as raw_orders
        group by shop_timezone
    ) as per_timezone
),

ranges as (
    select source, min(date_start) as first_synced_date, max(date_end) as synced_through
    from (
        select source, date_start, date_end from windows
        union all
        select source, date_start, date_end from shopify_extracted
        union all
        select source, min(date), max(date) from daily where source <> 'shopify' group by source
    ) as extracted
    where date_start is not null
    group by source
),

configured as (
    select source
    from (
        values ('shopify'), ('meta_ads'), ('google_ads'), ('tiktok_ads')
    ) as known (source)
    where source in (
        {%- for name in sources %}'{{ name }}'{{ ", " if not loop.last }}{% endfor -%}
        {%- if not sources %}null{% endif -%}
    )
),

days as (
    select cast(unnest(generate_series(min(date), max(date), interval 1 day)) as date) as date
    from daily
    inner join configured on daily.source = configured.source
)

select
    days.date,
    configured.source,
    coalesce(daily.row_count, 0) > 0 as has_data,
    cast(coalesce(daily.row_count, 0) as bigint) as row_count,
    daily.last_ingested_at,
    ranges.first_synced_date,
    ranges.synced_through,
    case
        when daily.row_count > 0 and days.date <= ranges.synced_through then 'synced'
        when days.date between ranges.first_synced_date and ranges.synced_through then 'no_data'
        else 'not_yet_synced'
    end as coverage_status
from days
cross join configured
left join daily
    on days.date = daily.date
    and configured.source = daily.source
left join ranges
    on configured.source = ranges.source
