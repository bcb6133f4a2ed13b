"""Invalid rows: numbers no platform or shop can produce.

Ad marts: clicks > impressions, negative spend, impressions, clicks or conversions. (More
conversions than clicks is not flagged: view-through conversions follow an impression, not a
click.) Orders and order lines: negative gross sales, totals, shipping, taxes, units, quantities
or prices. Per table, the rule broken by the most rows decides: from `invalid_rows_warn` rows
(default 1) WARN, from `invalid_rows_critical` (default 10) CRITICAL.
"""

from __future__ import annotations

from martlake.quality._context import CheckContext
from martlake.quality._results import CheckResult, Severity
from martlake.quality._tables import Query, guarded, quoted, reader, result, skipped

CHECK = "invalid_rows"
METRIC = "invalid_rows"

_AD = {
    "clicks > impressions": "clicks > impressions",
    "negative spend": "spend < 0",
    "negative impressions": "impressions < 0",
    "negative clicks": "clicks < 0",
}
RULES: dict[str, dict[str, str]] = {
    "marts.facebook_unified": {**_AD, "negative purchases": "purchases < 0"},
    "marts.google_ads_unified": {**_AD, "negative conversions": "conversions < 0"},
    "marts.tiktok_unified": {**_AD, "negative conversions": "conversions < 0"},
    "marts.ad_performance_unified": {**_AD, "negative conversions": "conversions < 0"},
    "marts.campaign_daily": {**_AD, "negative conversions": "conversions < 0"},
    "marts.shopify_unified": {
        "negative gross sales": "gross_sales < 0",
        "negative total price": "total_price < 0",
        "negative shipping": "shipping < 0",
        "negative taxes": "taxes < 0",
        "negative units": "units < 0",
    },
    "marts.shopify_order_lines": {
        "negative quantity": "quantity < 0",
        "negative price": "price < 0",
    },
}
"""Per table, rule name → SQL condition of a broken row."""


def check(ctx: CheckContext) -> list[CheckResult]:
    """Count the rows breaking each rule of each table that exists."""
    present = {f"{s}.{t}" for s, t in ctx.tables()}
    out: list[CheckResult] = []
    with reader(ctx) as query:
        for table, rules in RULES.items():
            if table not in present:
                continue
            if not ctx.settings.table(table).enabled:
                out.append(skipped(ctx, CHECK, table))
                continue
            out.append(guarded(ctx, CHECK, table, _invalid, ctx, query, table, rules))
    return out


def _invalid(ctx: CheckContext, query: Query, table: str, rules: dict[str, str]) -> CheckResult:
    counts = ", ".join(f"count(*) filter (where {cond})" for cond in rules.values())
    found = dict(zip(rules, query(f"select {counts} from {quoted(table)}")[0], strict=True))
    for rule, n in found.items():
        ctx.metric(METRIC, table, n, dimension=rule)
    settings = ctx.settings.table(table)
    warn = settings.invalid_rows_warn or ctx.settings.invalid_rows_warn
    critical = settings.invalid_rows_critical or ctx.settings.invalid_rows_critical
    broken = sorted(((n, rule) for rule, n in found.items() if n), reverse=True)
    worst = broken[0][0] if broken else 0
    if worst >= critical:
        severity = Severity.CRITICAL
    elif worst >= warn:
        severity = Severity.WARN
    else:
        severity = Severity.OK
    if not broken:
        message = f"`{table}`: no invalid rows"
    else:
        listed = ", ".join(f"{n:,} rows with {rule} ({rules[rule]})" for n, rule in broken)
        message = f"`{table}`: {listed}; fix the source data or the model"
    return result(ctx, CHECK, table, severity, message, worst, warn, critical)
