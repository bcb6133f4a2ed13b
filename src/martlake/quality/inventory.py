"""Table inventory: every expected table exists, has rows, and marts are newer than their data.

Expected tables are each configured source's main raw table, every model of the last dbt build
(its manifest), and every table of the previous inventory. Per table:

- missing → CRITICAL (a table seen by an earlier check stays expected until
  `martlake check --accept-schema` forgets it);
- empty → CRITICAL for a configured source's main raw table, WARN for a staging, intermediate
  or mart table fed by a configured source, INFO when none of its sources is configured;
- new (absent from the previous inventory) → INFO;
- stale → WARN: a mart that dbt last built before the newest load of a raw table it is built
  from (say `martlake run --skip-transform` loaded new rows), so it does not show them yet;
- otherwise OK.

A `[quality.tables."…"]` section naming a table the warehouse does not have is WARN.
"""

from __future__ import annotations

from datetime import datetime

from martlake.quality._context import CheckContext
from martlake.quality._results import CheckResult, Severity
from martlake.quality._tables import (
    Model,
    built_at,
    checked_tables,
    dbt_models,
    layer,
    quoted,
    result,
    row_counts,
    skipped,
)
from martlake.warehouse.duckdb import META_SCHEMA

CHECK = "inventory"
ROWS_METRIC = "inventory.rows"


def check(ctx: CheckContext) -> list[CheckResult]:
    """Missing, empty, new and stale tables (see the module docstring)."""
    present = checked_tables(ctx)
    counts = row_counts(ctx, present)
    for table, rows in counts.items():
        ctx.metric(ROWS_METRIC, table, rows)
    previous = _previous_inventory(ctx)
    models = dbt_models(ctx)
    main_raw = {f"{s}.{t}" for s, t in ctx.expected_raw}
    configured = {s for s, _ in ctx.expected_raw}
    expected = main_raw | set(models) | set(previous)
    newest = _newest_loads(ctx, [t for t in present if layer(t) == "raw"])
    built = built_at(ctx)
    out: list[CheckResult] = []
    for table in sorted(expected | set(present)):
        if not ctx.settings.table(table).enabled:
            out.append(skipped(ctx, CHECK, table))
            continue
        model = models.get(table)
        sources = {t.partition(".")[0] for t in model.raw_parents} if model else set()
        if table not in counts:
            if table in main_raw:
                why = "run `martlake run` to load it"
            elif model is not None:
                why = "a dbt model of the project: run `martlake run --from transform`"
            elif ctx.accept_schema:
                out.append(
                    result(ctx, CHECK, table, Severity.INFO, f"`{table}` is gone: forgotten")
                )
                continue
            else:
                why = (
                    "it was there at an earlier check; find what dropped it, or if that was "
                    "intended, `martlake check --accept-schema` forgets it"
                )
            ctx.metric(ROWS_METRIC, table, None)
            out.append(result(ctx, CHECK, table, Severity.CRITICAL, f"`{table}` is missing: {why}"))
            continue
        rows = counts[table]
        if rows == 0:
            out.append(_empty(ctx, table, main_raw, configured, sources))
            continue
        if previous and table not in previous:
            out.append(
                result(
                    ctx,
                    CHECK,
                    table,
                    Severity.INFO,
                    f"`{table}` is new since the previous check ({rows:,} rows)",
                    observed=rows,
                )
            )
            continue
        stale = _stale(table, model, built, newest) if layer(table) == "marts" else None
        if stale:
            out.append(result(ctx, CHECK, table, Severity.WARN, stale, observed=rows))
            continue
        out.append(result(ctx, CHECK, table, Severity.OK, f"`{table}`: {rows:,} rows", rows))
    known = set(counts) | expected
    for name in sorted(set(ctx.settings.tables) - known):
        out.append(
            result(
                ctx,
                CHECK,
                name,
                Severity.WARN,
                f'[quality.tables."{name}"] in martlake.toml names no table of the warehouse: '
                "fix the name (`schema.table`, e.g. `marts.campaign_daily`) or remove the section",
            )
        )
    return out


def _empty(
    ctx: CheckContext, table: str, main_raw: set[str], configured: set[str], sources: set[str]
) -> CheckResult:
    if table in main_raw:
        return result(
            ctx,
            CHECK,
            table,
            Severity.CRITICAL,
            f"`{table}` is empty: the source loaded nothing; check `martlake sources`",
            observed=0,
        )
    if layer(table) == "raw":
        return result(ctx, CHECK, table, Severity.OK, f"`{table}`: 0 rows", observed=0)
    if sources and not sources & configured:
        names = ", ".join(sorted(s.removeprefix("raw_") for s in sources))
        return result(
            ctx,
            CHECK,
            table,
            Severity.INFO,
            f"`{table}` is empty: its sources ({names}) are not configured",
            observed=0,
        )
    return result(
        ctx,
        CHECK,
        table,
        Severity.WARN,
        f"`{table}` is empty although its sources loaded rows: check the model's filters",
        observed=0,
    )


def _stale(
    table: str, model: Model | None, built: dict[str, str], newest: dict[str, datetime]
) -> str | None:
    if model is None or model.unique_id not in built:
        return None
    built_time = datetime.fromisoformat(built[model.unique_id].replace("Z", "+00:00"))
    later = sorted(
        (t for t in model.raw_parents if t in newest and newest[t] > built_time),
        key=lambda t: newest[t],
    )
    if not later:
        return None
    return (
        f"`{table}` was built at {built_time:%Y-%m-%d %H:%M} UTC, before the newest load of "
        f"`{later[-1]}` ({newest[later[-1]]:%Y-%m-%d %H:%M} UTC): run "
        "`martlake run --from transform`"
    )


def _newest_loads(ctx: CheckContext, raw: list[str]) -> dict[str, datetime]:
    with_column = {
        f"{s}.{t}"
        for s, t in ctx.warehouse.query(
            "select table_schema, table_name from information_schema.columns "
            "where column_name = '_ingested_at'"
        )
    }
    tables = [t for t in raw if t in with_column]
    if not tables:
        return {}
    sql = " union all ".join(f'select ?, max("_ingested_at") from {quoted(t)}' for t in tables)
    return {t: v for t, v in ctx.warehouse.query(sql, tables) if v is not None}


def _previous_inventory(ctx: CheckContext) -> dict[str, float]:
    rows = ctx.warehouse.query(
        f"""select table_name, value from {META_SCHEMA}.dq_metric_history
            where metric = ? and run_id = (
                select run_id from {META_SCHEMA}.dq_metric_history
                where metric = ? and run_id <> ? order by observed_at desc limit 1)""",
        [ROWS_METRIC, ROWS_METRIC, ctx.run_id],
    )
    return {t: float(v or 0) for t, v in rows}
