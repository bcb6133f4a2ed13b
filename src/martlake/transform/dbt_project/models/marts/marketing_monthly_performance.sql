-- One row per calendar month and channel, every month from the first to the last of
-- marketing_unified and every channel that appears in it (zero-filled), so that the previous
-- month and the same month a year before are found by date, never by row position.
{%- set compared = ['spend', 'attributed_orders', 'attributed_revenue', 'roas', 'cpa'] %}
with daily as (
    select
        cast(date_trunc('month', date) as date) as month,
        date,
        channel,
        spend,
        impressions,
        clicks,
        attributed_orders,
        attributed_revenue
    from {{ ref('marketing_unified') }}
),

bounds as (
    select
        min(month) as first_month,
        max(month) as last_month,
        min(date) as first_date,
        max(date) as last_date
    from daily
),

months as (
    select cast(unnest(generate_series(first_month, last_month, interval 1 month)) as date) as month
    from bounds
    where first_month is not null
),

channels as (
    select distinct channel from daily
),

monthly as (
    select
        month,
        channel,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(attributed_orders) as attributed_orders,
        sum(attributed_revenue) as attributed_revenue
    from daily
    group by month, channel
),

grid as (
    select
        months.month,
        channels.channel,
        {{ money('coalesce(monthly.spend, 0)') }} as spend,
        cast(coalesce(monthly.impressions, 0) as bigint) as impressions,
        cast(coalesce(monthly.clicks, 0) as bigint) as clicks,
        cast(coalesce(monthly.attributed_orders, 0) as bigint) as attributed_orders,
        {{ money('coalesce(monthly.attributed_revenue, 0)') }} as attributed_revenue
    from months
    cross join channels
    left join monthly
        on months.month = monthly.month
        and channels.channel = monthly.channel
),

metrics as (
    select
        *,
        {{ safe_divide('attributed_revenue', 'spend') }} as roas,
        {{ safe_divide('spend', 'attributed_orders') }} as cpa
    from grid
)

select
    cur.month,
    cur.channel,
    cast({{ reporting_currency() }} as varchar) as currency_code,
    cur.spend,
    cur.impressions,
    cur.clicks,
    cur.attributed_orders,
    cur.attributed_revenue,
    cur.roas,
    cur.cpa,
    cur.month < bounds.first_date or last_day(cur.month) > bounds.last_date as is_partial_month,
    {{ period_over_period(compared, 'cur', 'prev_month', 'prev_month', 'mom_pct') }},
    {{ period_over_period(compared, 'cur', 'prev_year', 'prev_year', 'yoy_pct') }}
from metrics as cur
cross join bounds
left join metrics as prev_month
    on prev_month.channel = cur.channel
    and prev_month.month = cast(cur.month - interval 1 month as date)
left join metrics as prev_year
    on prev_year.channel = cur.channel
    and prev_year.month = cast(cur.month - interval 12 month as date)
