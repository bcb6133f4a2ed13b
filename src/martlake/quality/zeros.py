"""suspicious_zeros: a channel that spent on a day but got no attributed revenue.

A channel-day counts when spend exceeds `suspicious_zeros_min_spend`, attributed revenue is 0,
and the channel's attributed orders per unit of spend over the previous 28 days predict at least
`suspicious_zeros_min_expected_orders` orders for that spend (so a small channel's ordinary quiet
day is not one). The first such day is WARN; a second in a row is CRITICAL. Consecutive days are
read from the data itself, not from earlier check runs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from martlake.quality._context import CheckContext
from martlake.quality._days import annotated_ranges, evaluation_days, latest_closed_day
from martlake.quality._results import CheckResult, Severity
from martlake.quality.anomaly import is_annotated

CHECK = "suspicious_zeros"
TABLE = "marts.marketing_unified"
METRIC = "suspicious_zero"
RATE_DAYS = 28

Day = tuple[float, float, float]
"""(spend, attributed orders, attributed revenue)."""


def check(ctx: CheckContext) -> list[CheckResult]:
    """One result per channel that spent in the judged days."""
    if not ctx.warehouse.exists("marts", "marketing_unified"):
        return [
            CheckResult(CHECK, TABLE, Severity.SKIPPED, f"no table `{TABLE}`", checked_at=ctx.now)
        ]
    channels = _channels(ctx)
    annotations = annotated_ranges(ctx.settings.annotations, "attributed_revenue")
    results = []
    for channel, days in sorted(channels.items()):
        judged = evaluation_days(ctx, list(days), METRIC, TABLE, channel)
        if not any(days.get(d, (0.0, 0.0, 0.0))[0] > 0 for d in judged):
            continue
        flags = {d: _suspicious(ctx, days, d, annotations) for d in judged}
        for day, flag in flags.items():
            ctx.metric(METRIC, TABLE, float(flag), channel, day)
        results.append(_result(ctx, channel, days, flags, annotations))
    return results


def _channels(ctx: CheckContext) -> dict[str, dict[date, Day]]:
    last = ctx.warehouse.query(
        f"select max(date) from {TABLE} where date <= ?", [latest_closed_day(ctx)]
    )[0][0]
    if last is None:
        return {}
    rows = ctx.warehouse.query(
        "select date, channel, sum(coalesce(spend, 0)), sum(attributed_orders), "
        f"sum(attributed_revenue) from {TABLE} where date between ? and ? group by all",
        [last - timedelta(days=RATE_DAYS + ctx.settings.anomaly_max_days + 2), last],
    )
    out: dict[str, dict[date, Day]] = defaultdict(dict)
    for day, channel, spend, orders, revenue in rows:
        out[channel][day] = (float(spend), float(orders or 0), float(revenue or 0))
    return dict(out)


def _suspicious(
    ctx: CheckContext,
    days: dict[date, Day],
    day: date,
    annotations: list[tuple[date, date]],
) -> bool:
    spend, _, revenue = days.get(day, (0.0, 0.0, 0.0))
    if spend <= max(ctx.settings.suspicious_zeros_min_spend, 0) or revenue != 0:
        return False
    if is_annotated(day, annotations):
        return False
    past = [days[d] for d in days if day - timedelta(days=RATE_DAYS) <= d < day]
    past_spend = sum(p[0] for p in past)
    if past_spend <= 0:
        return False
    expected = spend * sum(p[1] for p in past) / past_spend
    return expected >= ctx.settings.suspicious_zeros_min_expected_orders


def _result(
    ctx: CheckContext,
    channel: str,
    days: dict[date, Day],
    flags: dict[date, bool],
    annotations: list[tuple[date, date]],
) -> CheckResult:
    where = f"{TABLE}[channel={channel}]"
    worst_severity = Severity.OK
    message = f"{channel}: no day of spend without the attributed revenue it predicts"
    for day in sorted(d for d, flag in flags.items() if flag):
        spend = days[day][0]
        if _suspicious(ctx, days, day - timedelta(days=1), annotations):
            worst_severity = Severity.CRITICAL
            message = (
                f"{channel}: spend {spend:,.2f} and no attributed revenue on {day - timedelta(1)} "
                f"and {day} (2 days in a row): check the UTMs and the tracking of {channel}"
            )
        elif worst_severity is not Severity.CRITICAL:
            worst_severity = Severity.WARN
            message = (
                f"{channel}: spend {spend:,.2f} and no attributed revenue on {day}: check "
                f"the UTMs and the tracking of {channel}"
            )
    return CheckResult(CHECK, where, worst_severity, message, checked_at=ctx.now)
