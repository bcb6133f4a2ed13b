"""Layer reconciliation: raw → staging → marts keep the same totals.

Raw is deduplicated independently of dbt, the way staging is meant to: ad rows of the latest
extraction that covered each (account, day), one row per entity and day; for Shopify the
latest extraction of each order, deleted orders left out, and the lines of that extraction.
Then per platform Σ spend (Google: Σ cost micros from raw to staging) and Σ impressions, and
for the shop the order count, Σ total price, Σ net sales and Σ line quantities must be equal
from layer to layer: money within 0.005, counts exactly. A difference is CRITICAL, naming the
pair of tables and the metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from martlake.quality._context import CheckContext
from martlake.quality._results import CheckResult, Severity
from martlake.quality._tables import Query, guarded, reader, result, skipped

CHECK = "layer_reconciliation"
MONEY_TOLERANCE = Decimal("0.005")


@dataclass(frozen=True)
class Pair:
    """Two tables of adjacent layers and the totals that must match between them."""

    left: str
    right: str
    label: str
    metrics: dict[str, tuple[str, str, bool]]
    """Metric → (SQL total of left, SQL total of right, is money)."""
    needs: tuple[str, ...] = ()
    """Further tables the SQL reads."""

    @property
    def name(self) -> str:
        """How results name the pair's downstream table."""
        return f"{self.right} [{self.label}]" if self.label else self.right


def _ads_raw(table: str, account: str, day: str, key: str) -> str:
    """Ad rows of the latest extraction covering each (account, day), one per entity-day."""
    windows = table.rsplit(".", 1)[0] + ".extract_windows"
    return f"""(
        with r as (select * from {table}),
        candidates as (
            select {account} as account, {day} as day, _extract_run_id, _ingested_at from r
            union all
            select c.account, c.day, w._extract_run_id, w._ingested_at
            from (select distinct {account} as account, {day} as day from r) as c
            join {windows} as w
                on w.account_id = c.account and c.day between w.date_start and w.date_end
        ),
        latest as (
            select account, day, _extract_run_id from candidates
            qualify row_number() over (
                partition by account, day order by _ingested_at desc, _extract_run_id desc) = 1
        )
        select r.* from r
        join latest
            on r.{account} = latest.account and r.{day} = latest.day
            and r._extract_run_id = latest._extract_run_id
        qualify row_number() over (
            partition by r.{account}, r.{key}, r.{day} order by r._ingested_at desc) = 1
    )"""


_ORDERS_RAW = """(
    select * from raw_shopify.orders as o
    where not exists (
        select 1 from {deleted} as d where d.order_id = o.id and d.shop_domain = o.shop_domain)
    qualify row_number() over (
        partition by id order by _ingested_at desc, _extract_run_id desc) = 1
)"""
_LINES_RAW = """(
    select l.* from raw_shopify.order_lines as l
    join {orders} as o on l.order_id = o.id and l._ingested_at = o._ingested_at
    qualify row_number() over (partition by l.id order by l._extract_run_id desc) = 1
)"""


def _sum(expr: str, table: str, where: str = "") -> str:
    return f"select coalesce(sum({expr}), 0) from {table}" + (f" where {where}" if where else "")


def _count(table: str, where: str = "") -> str:
    return f"select count(*) from {table}" + (f" where {where}" if where else "")


def _ad_marts(platform: str, stg: str, platform_mart: str) -> list[Pair]:
    where = f"platform = '{platform}'"
    return [
        Pair(
            stg,
            platform_mart,
            "",
            {
                "spend": (_sum("spend", stg), _sum("spend", platform_mart), True),
                "impressions": (
                    _sum("impressions", stg),
                    _sum("impressions", platform_mart),
                    False,
                ),
            },
        ),
        Pair(
            stg,
            "marts.ad_performance_unified",
            platform,
            {
                "spend": (
                    _sum("spend", stg),
                    _sum("spend", "marts.ad_performance_unified", where),
                    True,
                ),
                "impressions": (
                    _sum("impressions", stg),
                    _sum("impressions", "marts.ad_performance_unified", where),
                    False,
                ),
            },
        ),
        Pair(
            stg,
            "marts.campaign_daily",
            platform,
            {
                "spend": (
                    _sum("spend", stg),
                    _sum("spend_in_account_currency", "marts.campaign_daily", where),
                    True,
                ),
                "impressions": (
                    _sum("impressions", stg),
                    _sum("impressions", "marts.campaign_daily", where),
                    False,
                ),
            },
        ),
    ]


def pairs(present: set[str], google_has_cost: bool = False) -> list[Pair]:
    """Every pair of tables to reconcile; `google_has_cost`: raw Google campaign stats still
    have the `cost` column of rows loaded before raw kept micros."""
    meta = _ads_raw("raw_meta_ads.insights", "account_id", "date_start", "ad_id")
    google = _ads_raw("raw_google_ads.campaign_stats", "customer_id", "date", "campaign_id")
    tiktok = _ads_raw("raw_tiktok_ads.ad_stats", "advertiser_id", "stat_date", "ad_id")
    deleted = (
        "raw_shopify.deleted_orders"
        if "raw_shopify.deleted_orders" in present
        else "(select null::bigint as order_id, null::varchar as shop_domain where false)"
    )
    orders = _ORDERS_RAW.format(deleted=deleted)
    lines = _LINES_RAW.format(orders=orders)
    stg_orders = "staging.stg_shopify__orders"
    stg_lines = "staging.stg_shopify__order_lines"
    kept = f"(select * from {stg_orders} where not is_test)"
    kept_lines = f"(select l.* from {stg_lines} as l join {kept} as o using (order_id))"
    micros = (
        "coalesce(cost_micros, cast(cost * 1000000 as bigint), 0)"
        if google_has_cost
        else "coalesce(cost_micros, 0)"
    )
    return [
        Pair(
            "raw_meta_ads.insights",
            "staging.stg_meta_ads__insights",
            "",
            {
                "spend": (
                    _sum("coalesce(spend, 0)", meta),
                    _sum("spend", "staging.stg_meta_ads__insights"),
                    True,
                ),
                "impressions": (
                    _sum("coalesce(impressions, 0)", meta),
                    _sum("impressions", "staging.stg_meta_ads__insights"),
                    False,
                ),
            },
            ("raw_meta_ads.extract_windows",),
        ),
        *_ad_marts("meta", "staging.stg_meta_ads__insights", "marts.facebook_unified"),
        Pair(
            "raw_google_ads.campaign_stats",
            "staging.stg_google_ads__campaign_stats",
            "",
            {
                "cost_micros": (
                    _sum(micros, google),
                    _sum("cost_micros", "staging.stg_google_ads__campaign_stats"),
                    False,
                ),
                "impressions": (
                    _sum("coalesce(impressions, 0)", google),
                    _sum("impressions", "staging.stg_google_ads__campaign_stats"),
                    False,
                ),
            },
            ("raw_google_ads.extract_windows",),
        ),
        *_ad_marts("google", "staging.stg_google_ads__campaign_stats", "marts.google_ads_unified"),
        Pair(
            "raw_tiktok_ads.ad_stats",
            "staging.stg_tiktok_ads__ad_stats",
            "",
            {
                "spend": (
                    _sum("coalesce(spend, 0)", tiktok),
                    _sum("spend", "staging.stg_tiktok_ads__ad_stats"),
                    True,
                ),
                "impressions": (
                    _sum("coalesce(impressions, 0)", tiktok),
                    _sum("impressions", "staging.stg_tiktok_ads__ad_stats"),
                    False,
                ),
            },
            ("raw_tiktok_ads.extract_windows",),
        ),
        *_ad_marts("tiktok", "staging.stg_tiktok_ads__ad_stats", "marts.tiktok_unified"),
        Pair(
            "raw_shopify.orders",
            stg_orders,
            "",
            {
                "orders": (_count(orders), _count(stg_orders), False),
                "total_price": (_sum("total_price", orders), _sum("total_price", stg_orders), True),
            },
        ),
        Pair(
            "raw_shopify.order_lines",
            stg_lines,
            "",
            {"quantity": (_sum("quantity", lines), _sum("quantity", stg_lines), False)},
            ("raw_shopify.orders",),
        ),
        Pair(
            stg_orders,
            "marts.shopify_unified",
            "",
            {
                "orders": (_count(kept), _count("marts.shopify_unified"), False),
                "total_price": (
                    _sum("total_price", kept),
                    _sum("total_price", "marts.shopify_unified"),
                    True,
                ),
            },
        ),
        Pair(
            stg_lines,
            "marts.shopify_order_lines",
            "",
            {
                "quantity": (
                    _sum("quantity", kept_lines),
                    _sum("quantity", "marts.shopify_order_lines"),
                    False,
                )
            },
            (stg_orders,),
        ),
        Pair(
            "marts.shopify_unified",
            "marts.shopify_daily_metrics",
            "",
            {
                "orders": (
                    _count("marts.shopify_unified"),
                    _sum("orders", "marts.shopify_daily_metrics"),
                    False,
                ),
                "net_sales": (
                    _sum("net_sales", "marts.shopify_unified"),
                    _sum("net_sales", "marts.shopify_daily_metrics"),
                    True,
                ),
            },
        ),
    ]


def check(ctx: CheckContext) -> list[CheckResult]:
    """Compare each pair's totals (pairs whose tables are not all there are left out)."""
    present = {f"{s}.{t}" for s, t in ctx.tables()}
    has_cost = bool(
        ctx.warehouse.query(
            "select 1 from information_schema.columns where table_schema = 'raw_google_ads' "
            "and table_name = 'campaign_stats' and column_name = 'cost'"
        )
    )
    out: list[CheckResult] = []
    with reader(ctx) as query:
        for pair in pairs(present, has_cost):
            if not {pair.left, pair.right, *pair.needs} <= present:
                continue
            if not ctx.settings.table(pair.right).enabled:
                out.append(skipped(ctx, CHECK, pair.name))
                continue
            out.append(guarded(ctx, CHECK, pair.name, _compare, ctx, query, pair))
    return out


def _compare(ctx: CheckContext, query: Query, pair: Pair) -> CheckResult:
    selects = ", ".join(f"({left}), ({right})" for left, right, _ in pair.metrics.values())
    values = query(f"select {selects}")[0]
    diffs: list[str] = []
    worst = Decimal(0)
    for i, (metric, (_, _, money)) in enumerate(pair.metrics.items()):
        left, right = Decimal(str(values[2 * i])), Decimal(str(values[2 * i + 1]))
        gap = abs(left - right)
        if gap > (MONEY_TOLERANCE if money else Decimal(0)):
            form = ",.2f" if money else ",.0f"
            diffs.append(
                f"{metric} {left:{form}} in `{pair.left}` vs {right:{form}} in `{pair.right}` "
                f"(difference {right - left:{form}})"
            )
            worst = max(worst, gap)
    flow = f"`{pair.left}` → `{pair.right}`" + (f" ({pair.label})" if pair.label else "")
    if diffs:
        return result(
            ctx,
            CHECK,
            pair.name,
            Severity.CRITICAL,
            f"{flow}: " + "; ".join(diffs) + ": rebuild with `martlake run --from transform`; "
            "if it persists the model loses or adds rows",
            observed=float(worst),
            critical=float(MONEY_TOLERANCE),
        )
    names = ", ".join(pair.metrics)
    return result(ctx, CHECK, pair.name, Severity.OK, f"{flow}: {names} match", observed=0.0)
