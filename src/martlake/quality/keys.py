"""Duplicate keys and null rates.

Duplicate keys: the grain of every dbt model (its `unique` and `unique_combination` tests) and
of every raw table within one extraction (the same ad and day twice in one `_extract_run_id` is
a bug; across extractions it is how restatements arrive). A table with a duplicated key is
`[quality] duplicate_keys` (CRITICAL by default).

Null rates: columns with a dbt `not_null` test, a `[quality.tables]` `key` and raw tables' keys
must have no NULL (CRITICAL); a dbt grain alone does not require its columns, since
campaign-level rows of `ad_performance_unified` have no ad. Every other column's share
of NULLs is kept in `dq_metric_history` (`null_rate`); one that rose by more than
`null_rate_increase` (0.2 = 20 points) since the previous check run is WARN.
"""

from __future__ import annotations

from martlake.quality._context import CheckContext
from martlake.quality._results import CheckResult, Severity
from martlake.quality._tables import (
    Model,
    Query,
    checked_tables,
    column,
    columns,
    dbt_models,
    guarded,
    layer,
    quoted,
    reader,
    result,
    skipped,
    table_keys,
)
from martlake.warehouse.duckdb import META_SCHEMA

DUPLICATES = "duplicate_keys"
NULLS = "null_rates"
NULL_RATE_METRIC = "null_rate"
_SHOWN = 4


def duplicates(ctx: CheckContext) -> list[CheckResult]:
    """Count the keys that appear more than once in each table."""
    models = dbt_models(ctx)
    tables = checked_tables(ctx)
    with reader(ctx) as query:
        return _all_duplicates(ctx, tables, models, query)


def _all_duplicates(
    ctx: CheckContext, tables: list[str], models: dict[str, Model], query: Query
) -> list[CheckResult]:
    out: list[CheckResult] = []
    for table in tables:
        settings = ctx.settings.table(table)
        if not settings.enabled:
            out.append(skipped(ctx, DUPLICATES, table))
            continue
        level = settings.duplicate_keys or ctx.settings.duplicate_keys
        keys = table_keys(ctx, table, models)
        if level == "off":
            out.append(result(ctx, DUPLICATES, table, Severity.SKIPPED, '`duplicate_keys = "off"`'))
            continue
        if not keys:
            if table in models:
                out.append(
                    result(
                        ctx,
                        DUPLICATES,
                        table,
                        Severity.INFO,
                        f"`{table}` has no grain: add a `unique_combination` test to the model "
                        f'or set `key` in [quality.tables."{table}"]',
                    )
                )
            continue
        severity = Severity(level)
        per_run = layer(table) == "raw"
        for key in keys:
            out.append(
                guarded(
                    ctx,
                    DUPLICATES,
                    table,
                    _duplicates,
                    ctx,
                    query,
                    table,
                    key,
                    severity,
                    per_run,
                )
            )
    return out


def _duplicates(
    ctx: CheckContext, query: Query, table: str, key: list[str], severity: Severity, per_run: bool
) -> CheckResult:
    group = [*key, "_extract_run_id"] if per_run else key
    cols = ", ".join(column(c) for c in group)
    rows = query(
        f"""select count(*), coalesce(sum(n - 1), 0), any_value(example) from (
                select count(*) as n, cast(row({cols}) as varchar) as example
                from {quoted(table)} group by {cols} having count(*) > 1)"""
    )
    keys, extra, example = rows[0]
    shown = ", ".join(key) + (" within one _extract_run_id" if per_run else "")
    if not keys:
        return result(ctx, DUPLICATES, table, Severity.OK, f"`{table}`: ({shown}) unique", 0)
    return result(
        ctx,
        DUPLICATES,
        table,
        severity,
        f"`{table}`: {keys:,} keys ({shown}) appear more than once ({extra:,} extra rows), "
        f"e.g. {example}",
        observed=float(keys),
        critical=0.0 if severity is Severity.CRITICAL else None,
        warn=0.0 if severity is Severity.WARN else None,
    )


def null_rates(ctx: CheckContext) -> list[CheckResult]:
    """NULLs in key and `not_null` columns; jumps of other columns' null rates."""
    models = dbt_models(ctx)
    tables = checked_tables(ctx)
    cols = columns(ctx, tables)
    previous = _previous_rates(ctx)
    out: list[CheckResult] = []
    with reader(ctx) as query:
        for table in tables:
            if not ctx.settings.table(table).enabled:
                out.append(skipped(ctx, NULLS, table))
                continue
            required = _required(ctx, table, models)
            out.append(
                guarded(
                    ctx,
                    NULLS,
                    table,
                    _nulls,
                    ctx,
                    query,
                    table,
                    [c for c, _ in cols[table]],
                    required,
                    previous,
                )
            )
    return out


def _required(ctx: CheckContext, table: str, models: dict[str, Model]) -> set[str]:
    # A dbt grain may hold NULLs (campaign-level rows of ad_performance_unified have no ad),
    # so for models only `not_null` tests and an explicit `key` make a column required.
    required = set(ctx.settings.table(table).key or [])
    if table in models:
        return required | models[table].not_null
    return required | {c for key in table_keys(ctx, table, models) for c in key}


def _nulls(
    ctx: CheckContext,
    query: Query,
    table: str,
    names: list[str],
    required: set[str],
    previous: dict[tuple[str, str], float],
) -> CheckResult:
    if not names:
        return result(ctx, NULLS, table, Severity.OK, f"`{table}` has no columns")
    missing = sorted(required - set(names))
    counts = ", ".join(f"count({column(c)})" for c in names)
    total, *present = query(f"select count(*), {counts} from {quoted(table)}")[0]
    if not total:
        return result(ctx, NULLS, table, Severity.OK, f"`{table}` is empty", observed=0)
    limit = ctx.settings.table(table).null_rate_increase or ctx.settings.null_rate_increase
    bad_required: list[str] = []
    jumps: list[str] = []
    worst = 0.0
    for name, filled in zip(names, present, strict=True):
        rate = 1 - filled / total
        ctx.metric(NULL_RATE_METRIC, table, rate, dimension=name)
        if name in required and filled < total:
            bad_required.append(f"`{name}` {total - filled:,} NULL")
            worst = max(worst, rate)
            continue
        before = previous.get((table, name))
        if before is not None and rate - before > limit + 1e-9:
            jumps.append(f"`{name}` {before:.0%} → {rate:.0%}")
            worst = max(worst, rate)
    if missing:
        bad_required.extend(f"`{name}` missing" for name in missing)
    if bad_required:
        listed = _listed(bad_required)
        return result(
            ctx,
            NULLS,
            table,
            Severity.CRITICAL,
            f"`{table}`: key or not-null columns have NULLs: {listed}",
            observed=round(worst, 6),
            critical=0.0,
        )
    if jumps:
        return result(
            ctx,
            NULLS,
            table,
            Severity.WARN,
            f"`{table}`: null rate rose by more than {limit:.0%} since the previous check: "
            f"{_listed(jumps)}",
            observed=round(worst, 6),
            warn=limit,
        )
    return result(ctx, NULLS, table, Severity.OK, f"`{table}`: null rates as before", 0.0)


def _listed(items: list[str]) -> str:
    more = f" … and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return ", ".join(items[:_SHOWN]) + more


def _previous_rates(ctx: CheckContext) -> dict[tuple[str, str], float]:
    rows = ctx.warehouse.query(
        f"""select table_name, dimension, value from {META_SCHEMA}.dq_metric_history
            where metric = ? and run_id <> ? and value is not null
            qualify row_number() over (
                partition by table_name, dimension order by observed_at desc) = 1""",
        [NULL_RATE_METRIC, ctx.run_id],
    )
    return {(t, d): float(v) for t, d, v in rows}
