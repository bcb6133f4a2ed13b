"""metric_drops: each KPI of `[quality.kpis]` on its latest closed days against its baseline."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from martlake.config import KpiSettings
from martlake.quality._context import CheckContext
from martlake.quality._days import (
    annotated_ranges,
    columns,
    evaluation_days,
    latest_closed_day,
)
from martlake.quality._results import CheckResult, Severity
from martlake.quality.anomaly import DEFAULT_LOOKBACK_DAYS, Thresholds, Verdict, evaluate

CHECK = "metric_drops"
CONTEXT_DAYS = 14
"""Days judged before the reported ones, so that an outage already flagged stays out of the
baselines of the days after it."""


def check(ctx: CheckContext) -> list[CheckResult]:
    """One result per KPI (per dimension value): the worst verdict among the days judged."""
    results: list[CheckResult] = []
    for name, kpi in ctx.settings.kpis.items():
        if kpi.enabled:
            results.extend(_kpi(ctx, name, kpi))
    return results


def _kpi(ctx: CheckContext, name: str, kpi: KpiSettings) -> list[CheckResult]:
    schema, table = kpi.table.split(".", 1)
    column = kpi.column or name
    label = f"{kpi.table}:{column}"
    if not ctx.warehouse.exists(schema, table):
        return [_skipped(ctx, label, f"no table `{kpi.table}` for KPI `{name}`")]
    wanted = [c for c in (column, kpi.date_column, kpi.dimension) if c]
    present = columns(ctx, schema, table)
    missing = [c for c in wanted if c not in present]
    if missing:
        return [_skipped(ctx, label, f"`{kpi.table}` has no column `{missing[0]}` (KPI `{name}`)")]
    series = _series(ctx, schema, table, column, kpi)
    if not series:
        return [_skipped(ctx, label, f"`{kpi.table}` has no closed day yet")]
    thresholds = Thresholds(kpi.warn, kpi.critical, kpi.direction)
    annotations = annotated_ranges(ctx.settings.annotations, name)
    results = []
    for dimension, values in sorted(series.items()):
        if not any(values.values()):
            continue
        where = f"{label}[{kpi.dimension}={dimension}]" if kpi.dimension else label
        days = evaluation_days(ctx, list(values), name, kpi.table, dimension)
        context = sorted(d for d in values if days[0] - timedelta(CONTEXT_DAYS) <= d < days[0])
        verdicts = evaluate(
            values, [*context, *days], thresholds, annotations=annotations, count=kpi.count
        )[len(context) :]
        for v in verdicts:
            ctx.metric(name, kpi.table, v.value, dimension, v.day)
            ctx.metric(f"{name}_baseline", kpi.table, v.baseline, dimension, v.day)
        results.append(_result(ctx, name, where, kpi, verdicts))
    return results


def _series(
    ctx: CheckContext, schema: str, table: str, column: str, kpi: KpiSettings
) -> dict[str, dict[date, float | None]]:
    """Per dimension value (`""` without one): day → value, a dimension's missing day as 0."""
    day_col = f'"{kpi.date_column}"'
    closed = latest_closed_day(ctx)
    last = ctx.warehouse.query(
        f'select max(cast({day_col} as date)) from "{schema}"."{table}" '
        f"where cast({day_col} as date) <= ?",
        [closed],
    )[0][0]
    if last is None:
        return {}
    dim = f'cast("{kpi.dimension}" as varchar)' if kpi.dimension else "''"
    first = last - timedelta(days=DEFAULT_LOOKBACK_DAYS + CONTEXT_DAYS + 60)
    rows = ctx.warehouse.query(
        f'select cast({day_col} as date), {dim}, sum(cast("{column}" as double)) '
        f'from "{schema}"."{table}" where cast({day_col} as date) between ? and ? '
        "group by all",
        [first, last],
    )
    out: dict[str, dict[date, float | None]] = defaultdict(dict)
    for day, dimension, value in rows:
        out[dimension or ""][day] = value
    if kpi.dimension:
        all_days = {day for values in out.values() for day in values}
        for values in out.values():
            for day in all_days:
                values.setdefault(day, 0.0)
    unsynced = _not_yet_synced(ctx)
    for dimension, values in out.items():
        source = _coverage_source(kpi.table, dimension, unsynced)
        for day in unsynced.get(source or "", ()):
            values.pop(day, None)
    return dict(out)


def _not_yet_synced(ctx: CheckContext) -> dict[str, set[date]]:
    """Per source, the days `marts.source_coverage_daily` says were not read yet: a zero there
    is a day still to come (an ad account in a timezone behind the shop's), not a drop."""
    if not ctx.warehouse.exists("marts", "source_coverage_daily"):
        return {}
    out: dict[str, set[date]] = defaultdict(set)
    for source, day in ctx.warehouse.query(
        "select source, cast(date as date) from marts.source_coverage_daily "
        "where coverage_status = 'not_yet_synced'"
    ):
        out[source].add(day)
    return out


def _coverage_source(table: str, dimension: str, unsynced: dict[str, set[date]]) -> str | None:
    """The source a series comes from: a channel's ad platform (`google` → `google_ads`), or
    Shopify for the shop's own tables.

    >>> _coverage_source("marts.marketing_unified", "google", {"google_ads": set()})
    'google_ads'
    >>> _coverage_source("marts.shopify_daily_metrics", "", {})
    'shopify'
    """
    if dimension:
        for candidate in (dimension, f"{dimension}_ads"):
            if candidate in unsynced:
                return candidate
        return None
    return "shopify" if ".shopify" in table else None


def _result(
    ctx: CheckContext, name: str, where: str, kpi: KpiSettings, verdicts: list[Verdict]
) -> CheckResult:
    severity = max((v.severity for v in verdicts), key=lambda s: s.rank)
    shown = max(verdicts, key=lambda v: (v.severity.rank, v.day))
    message = f"{name} on {shown.day}: {_describe(shown)}"
    flagged = [v.day for v in verdicts if v.severity in (Severity.WARN, Severity.CRITICAL)]
    if len(flagged) > 1:
        message += f" ({len(flagged)} of {len(verdicts)} days judged flagged)"
    return CheckResult(
        CHECK,
        where,
        severity,
        message,
        observed=None if shown.ratio is None else round(shown.ratio, 4),
        warn_threshold=kpi.warn,
        critical_threshold=kpi.critical,
        checked_at=ctx.now,
    )


def _describe(v: Verdict) -> str:
    if v.baseline is None or v.ratio is None:
        return v.reason
    how = "same-weekday median" if v.method == "weekday" else "trimmed 30-day mean"
    return f"{v.value:,.2f} vs {v.baseline:,.2f} ({how}), {v.ratio:.2f}×: {v.reason}"


def _skipped(ctx: CheckContext, where: str, reason: str) -> CheckResult:
    return CheckResult(CHECK, where, Severity.SKIPPED, reason, checked_at=ctx.now)
