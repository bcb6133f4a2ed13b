"""Schema drift: each table's columns and types against an accepted baseline.

Every check run appends the columns of every raw, staging, intermediate and mart table to
`martlake.dq_schema_snapshot`. A table's first snapshot is accepted as its baseline (INFO);
`martlake check --accept-schema` accepts the current columns of every table as the new
baseline. Against the baseline, a dropped column or a changed type is CRITICAL in staging,
intermediate and marts, and WARN in raw (APIs change fields; staging reads the columns it
needs); an added column is INFO; no change is OK.
"""

from __future__ import annotations

import pyarrow as pa

from martlake.quality._context import CheckContext
from martlake.quality._results import CheckResult, Severity
from martlake.quality._tables import checked_tables, columns, layer, result, skipped
from martlake.warehouse.duckdb import META_SCHEMA

CHECK = "schema_drift"
_SHOWN = 5


def check(ctx: CheckContext) -> list[CheckResult]:
    """Compare every table's columns with its accepted baseline and snapshot them."""
    tables = checked_tables(ctx)
    current = columns(ctx, tables)
    baseline = _baseline(ctx)
    snapshot: list[tuple[object, ...]] = []
    out: list[CheckResult] = []
    for table in tables:
        if not ctx.settings.table(table).enabled:
            out.append(skipped(ctx, CHECK, table))
            continue
        cols = current[table]
        base = baseline.get(table)
        accept = ctx.accept_schema or base is None
        snapshot += [
            (ctx.run_id, table, name, kind, i, ctx.now, accept)
            for i, (name, kind) in enumerate(cols, start=1)
        ]
        if base is None:
            out.append(
                result(
                    ctx,
                    CHECK,
                    table,
                    Severity.INFO,
                    f"`{table}`: baseline of {len(cols)} columns recorded",
                    observed=len(cols),
                )
            )
            continue
        out.append(_compare(ctx, table, dict(base), dict(cols)))
    _append(ctx, snapshot)
    return out


def _append(ctx: CheckContext, rows: list[tuple[object, ...]]) -> None:
    if not rows:
        return
    names = ("run_id", "table_name", "column_name", "data_type", "position", "snapshot_at")
    data = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    data["accepted"] = [r[6] for r in rows]
    with ctx.warehouse.connect() as con:
        con.register("_snapshot", pa.table(data))
        con.execute(f"insert into {META_SCHEMA}.dq_schema_snapshot select * from _snapshot")


def _compare(
    ctx: CheckContext, table: str, base: dict[str, str], now: dict[str, str]
) -> CheckResult:
    dropped = [f"`{c}` dropped" for c in base if c not in now]
    changed = [
        f"`{c}` changed type {base[c]} → {now[c]}" for c in base if c in now and base[c] != now[c]
    ]
    added = [f"`{c}` added ({now[c]})" for c in now if c not in base]
    changes = dropped + changed + added
    if not changes:
        return result(ctx, CHECK, table, Severity.OK, f"`{table}`: {len(now)} columns as accepted")
    listed = "; ".join(changes[:_SHOWN]) + (
        f" … and {len(changes) - _SHOWN} more" if len(changes) > _SHOWN else ""
    )
    observed = float(len(changes))
    if ctx.accept_schema:
        return result(
            ctx, CHECK, table, Severity.INFO, f"`{table}` accepted as new baseline: {listed}"
        )
    if dropped or changed:
        severity = Severity.WARN if layer(table) == "raw" else Severity.CRITICAL
        return result(
            ctx,
            CHECK,
            table,
            severity,
            f"`{table}`: {listed}; fix the model or source, or accept it with "
            "`martlake check --accept-schema`",
            observed=observed,
        )
    return result(
        ctx,
        CHECK,
        table,
        Severity.INFO,
        f"`{table}`: {listed}; `martlake check --accept-schema` makes it the baseline",
        observed=observed,
    )


def _baseline(ctx: CheckContext) -> dict[str, list[tuple[str, str]]]:
    rows = ctx.warehouse.query(
        f"""select table_name, column_name, data_type
            from {META_SCHEMA}.dq_schema_snapshot
            where accepted and run_id <> ?
            qualify dense_rank() over (
                partition by table_name order by snapshot_at desc, run_id desc) = 1
            order by table_name, position""",
        [ctx.run_id],
    )
    out: dict[str, list[tuple[str, str]]] = {}
    for table, name, kind in rows:
        out.setdefault(table, []).append((name, kind))
    return out
