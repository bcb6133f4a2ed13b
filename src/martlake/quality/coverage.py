"""attribution_coverage: the share of net revenue that got a marketing channel.

Over the latest `attribution_coverage_days` closed days of `marts.shopify_unified`. With
`attribution_coverage_basis = "signal"` (default) the share is taken among the orders that carry
a marketing signal (a UTM parameter, an ad click id, or a configured discount code): those should
all be attributed, and the ones left `direct`, `other` or `referral` point at unmapped UTM sources
or a broken attribution. Genuinely organic orders (no signal at all) do not lower it. With
`"all"`, it is the share of every order's net revenue outside `direct` and `other`.
"""

from __future__ import annotations

from datetime import timedelta

from martlake.quality._context import CheckContext
from martlake.quality._days import latest_closed_day
from martlake.quality._results import CheckResult, Severity

CHECK = "attribution_coverage"
TABLE = "marts.shopify_unified"
SIGNAL = (
    "(attribution_method = 'discount_code' "
    "or coalesce(utm_source, utm_medium, utm_campaign, utm_id) is not null "
    "or coalesce(fbclid, gclid, gbraid, wbraid, ttclid) is not null)"
)


def check(ctx: CheckContext) -> list[CheckResult]:
    """One result: the coverage over the window, against the configured levels."""
    settings = ctx.settings
    if not ctx.warehouse.exists("marts", "shopify_unified"):
        return [_result(ctx, Severity.SKIPPED, f"no table `{TABLE}`")]
    last = ctx.warehouse.query(
        f"select max(order_date) from {TABLE} where order_date <= ?", [latest_closed_day(ctx)]
    )[0][0]
    if last is None:
        return [_result(ctx, Severity.SKIPPED, f"`{TABLE}` has no order on a closed day")]
    first = last - timedelta(days=settings.attribution_coverage_days - 1)
    if settings.attribution_coverage_basis == "signal":
        scope, unattributed = SIGNAL, "('direct', 'other', 'referral')"
    else:
        scope, unattributed = "true", "('direct', 'other')"
    attributed, total, orders = ctx.warehouse.query(
        f"select sum(net_sales) filter (where channel not in {unattributed}), sum(net_sales), "
        f"count(*) from {TABLE} where order_date between ? and ? and {scope}",
        [first, last],
    )[0]
    window = f"{first} to {last}"
    if not orders or total is None or total <= 0:
        return [_result(ctx, Severity.SKIPPED, f"no revenue to attribute from {window}")]
    share = float(attributed or 0) / float(total)
    ctx.metric(CHECK, TABLE, share, "", last)
    severity = Severity.OK
    if settings.attribution_coverage_critical is not None and (
        share < settings.attribution_coverage_critical
    ):
        severity = Severity.CRITICAL
    elif share < settings.attribution_coverage_warn:
        severity = Severity.WARN
    basis = "of the revenue with a marketing signal" if scope == SIGNAL else "of net revenue"
    message = f"{share:.1%} {basis} attributed to a channel ({orders} orders, {window})"
    if severity is not Severity.OK:
        message += (
            f", below {settings.attribution_coverage_warn:.0%}: map the UTM sources left as "
            "`other` in [attribution] channels, or check the attribution of the orders"
        )
    return [_result(ctx, severity, message, round(share, 4))]


def _result(
    ctx: CheckContext, severity: Severity, message: str, observed: float | None = None
) -> CheckResult:
    return CheckResult(
        CHECK,
        TABLE,
        severity,
        message,
        observed=observed,
        warn_threshold=ctx.settings.attribution_coverage_warn,
        critical_threshold=ctx.settings.attribution_coverage_critical,
        checked_at=ctx.now,
    )
