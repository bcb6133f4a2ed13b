"""Which business days the anomaly checks judge: the closed days since the previous check run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from martlake.config import AnnotationSettings
from martlake.quality._context import CheckContext
from martlake.warehouse.duckdb import META_SCHEMA

_TIMEZONES: dict[tuple[Path, str], ZoneInfo] = {}


def business_timezone(ctx: CheckContext) -> ZoneInfo:
    """The shop's timezone (from the staged orders), else the sandbox's, else UTC."""
    key = (ctx.warehouse.path, ctx.run_id)
    if key not in _TIMEZONES:
        _TIMEZONES.clear()
        _TIMEZONES[key] = _timezone(ctx)
    return _TIMEZONES[key]


def _timezone(ctx: CheckContext) -> ZoneInfo:
    name: str | None = None
    if ctx.warehouse.exists("staging", "stg_shopify__orders"):
        rows = ctx.warehouse.query("select max(shop_timezone) from staging.stg_shopify__orders")
        name = rows[0][0] if rows else None
    if not name and ctx.project.settings.sandbox.enabled:
        name = ctx.project.settings.sandbox.timezone
    try:
        return ZoneInfo(name or "UTC")
    except ZoneInfoNotFoundError:
        return ZoneInfo("UTC")


def latest_closed_day(ctx: CheckContext) -> date:
    """Yesterday in the business timezone: the latest day that has ended."""
    return ctx.business_now.astimezone(business_timezone(ctx)).date() - timedelta(days=1)


def evaluation_days(
    ctx: CheckContext, available: Sequence[date], metric: str, table: str, dimension: str = ""
) -> list[date]:
    """The closed days among `available` after the last one judged before (at most
    `anomaly_max_days`); the latest closed day when nothing new arrived or on a first run."""
    latest = latest_closed_day(ctx)
    closed = sorted(d for d in set(available) if d <= latest)
    if not closed:
        return []
    previous = ctx.warehouse.query(
        f"select max(day) from {META_SCHEMA}.dq_metric_history "
        "where metric = ? and table_name = ? and dimension = ?",
        [metric, table, dimension],
    )
    last_judged: date | None = previous[0][0] if previous else None
    if last_judged is None:
        return closed[-1:]
    new = [d for d in closed if d > last_judged]
    return new[-ctx.settings.anomaly_max_days :] or closed[-1:]


def annotated_ranges(
    annotations: Sequence[AnnotationSettings], metric: str
) -> list[tuple[date, date]]:
    """The inclusive date ranges annotated for `metric` (or for every metric)."""
    return [(a.start, a.last) for a in annotations if not a.metrics or metric in a.metrics]


def columns(ctx: CheckContext, schema: str, table: str) -> set[str]:
    """The column names of `schema.table`."""
    rows = ctx.warehouse.query(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ?",
        [schema, table],
    )
    return {r[0] for r in rows}
