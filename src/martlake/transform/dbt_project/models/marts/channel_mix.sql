-- One row per month and channel (the grid of marketing_monthly_performance): each channel's
-- share of the month's ad spend and of its attributed revenue.
with monthly as (
    select
        month,
        channel,
        currency_code,
        spend,
        attributed_revenue,
        sum(spend) over (partition by month) as month_spend,
        sum(attributed_revenue) over (partition by month) as month_revenue
    from {{ ref('marketing_monthly_performance') }}
)

select
    month,
    channel,
    currency_code,
    spend,
    {{ safe_divide('spend', 'month_spend') }} as spend_share,
    attributed_revenue,
    {{ safe_divide('attributed_revenue', 'month_revenue') }} as revenue_share
from monthly
