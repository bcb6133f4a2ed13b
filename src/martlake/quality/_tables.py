"""What the table checks share: which tables are checked, their columns, and dbt's manifest."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from martlake.quality._context import CheckContext
from martlake.quality._results import CheckResult, Severity

Layer = Literal["raw", "staging", "intermediate", "marts"]
DBT_SCHEMAS: dict[str, Layer] = {
    "staging": "staging",
    "intermediate": "intermediate",
    "marts": "marts",
}


def layer(table: str) -> Layer | None:
    """The layer of `schema.table`: raw (`raw_*` schemas), staging, intermediate or marts.

    >>> [layer(t) for t in ("raw_shopify.orders", "marts.campaign_daily", "martlake.runs")]
    ['raw', 'marts', None]
    """
    schema, _, name = table.partition(".")
    if schema.startswith("raw_"):
        return None if name.startswith("_dlt") else "raw"
    return DBT_SCHEMAS.get(schema)


def quoted(table: str) -> str:
    """`schema.table` as a quoted SQL name."""
    schema, _, name = table.partition(".")
    return f'"{schema}"."{name}"'


def column(name: str) -> str:
    """A quoted SQL column name."""
    return '"' + name.replace('"', '""') + '"'


Query = Callable[[str], list[tuple[Any, ...]]]


@contextmanager
def reader(ctx: CheckContext) -> Iterator[Query]:
    """Run many read-only queries on one connection (opening one costs tens of ms)."""
    with ctx.warehouse.connect(read_only=True) as con:
        yield lambda sql: con.execute(sql).fetchall()


def checked_tables(ctx: CheckContext) -> list[str]:
    """`schema.table` of every raw, staging, intermediate and mart table in the warehouse."""
    return sorted(f"{s}.{t}" for s, t in ctx.tables() if layer(f"{s}.{t}") is not None)


def columns(ctx: CheckContext, tables: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """(column, type) of each table in order; dlt's own bookkeeping columns left out."""
    wanted = set(tables)
    out: dict[str, list[tuple[str, str]]] = {t: [] for t in wanted}
    rows = ctx.warehouse.query(
        "select table_schema || '.' || table_name, column_name, data_type "
        "from information_schema.columns order by table_schema, table_name, ordinal_position"
    )
    for table, name, data_type in rows:
        if table in wanted and not name.startswith("_dlt_"):
            out[table].append((name, data_type))
    return out


def row_counts(ctx: CheckContext, tables: Sequence[str]) -> dict[str, int]:
    """Rows of each table, in one query."""
    if not tables:
        return {}
    sql = " union all ".join(f"select ?, count(*) from {quoted(t)}" for t in tables)
    return {t: int(n) for t, n in ctx.warehouse.query(sql, list(tables))}


def result(
    ctx: CheckContext,
    check: str,
    table: str,
    severity: Severity,
    message: str,
    observed: float | None = None,
    warn: float | None = None,
    critical: float | None = None,
) -> CheckResult:
    """A result stamped with the context's clock."""
    return CheckResult(check, table, severity, message, observed, warn, critical, ctx.now)


def skipped(ctx: CheckContext, check: str, table: str) -> CheckResult:
    """The result of a table whose checks `[quality.tables]` turned off."""
    return result(
        ctx,
        check,
        table,
        Severity.SKIPPED,
        f'`{table}` is not checked: `enabled = false` in [quality.tables."{table}"]',
    )


@dataclass
class Model:
    """A dbt model as the checks see it."""

    table: str
    unique_id: str
    grains: list[list[str]] = field(default_factory=list)
    """Column lists of its `unique` and `unique_combination` tests."""
    not_null: set[str] = field(default_factory=set)
    raw_parents: set[str] = field(default_factory=set)
    """The raw tables it is built from, followed through other models."""


def manifest_path(ctx: CheckContext) -> Path:
    """Where dbt's manifest of the project's last build lives."""
    return ctx.project.state_dir / "dbt" / "target" / "manifest.json"


def dbt_models(ctx: CheckContext) -> dict[str, Model]:
    """The project's dbt models by `schema.table`, from dbt's manifest; empty before a build."""
    path = manifest_path(ctx)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return {}
    return _read_manifest(str(path), stamp)


def built_at(ctx: CheckContext) -> dict[str, Any]:
    """When dbt last built each model successfully (`run_results.json` of the last invocation)."""
    path = ctx.project.state_dir / "dbt" / "target" / "run_results.json"
    try:
        data = json.loads(path.read_text())
        results = data["results"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    out: dict[str, Any] = {}
    for item in results:
        if item.get("status") != "success" or not str(item.get("unique_id", "")).startswith(
            "model."
        ):
            continue
        ends = [t.get("completed_at") for t in item.get("timing", []) if t.get("completed_at")]
        if ends:
            out[str(item["unique_id"])] = max(ends)
    return out


@lru_cache(maxsize=4)
def _read_manifest(path: str, stamp: int) -> dict[str, Model]:
    try:
        data = json.loads(Path(path).read_text())
        nodes: dict[str, dict[str, Any]] = data["nodes"]
        sources: dict[str, dict[str, Any]] = data["sources"]
        parents: dict[str, list[str]] = data["parent_map"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    by_id: dict[str, Model] = {}
    for uid, node in nodes.items():
        if node.get("resource_type") != "model":
            continue
        if (node.get("config") or {}).get("materialized") == "ephemeral":
            continue
        name = node.get("alias") or node["name"]
        by_id[uid] = Model(f"{node['schema']}.{name}", uid)

    def raw_of(uid: str, seen: frozenset[str]) -> set[str]:
        if uid in sources:
            src = sources[uid]
            return {f"{src.get('schema')}.{src.get('identifier') or src.get('name')}"}
        found: set[str] = set()
        for parent in parents.get(uid, []):
            if parent not in seen:
                found |= raw_of(parent, seen | {parent})
        return found

    for uid, model in by_id.items():
        model.raw_parents = raw_of(uid, frozenset({uid}))
    for node in nodes.values():
        meta = node.get("test_metadata") or {}
        attached = by_id.get(str(node.get("attached_node")))
        if node.get("resource_type") != "test" or attached is None:
            continue
        model = attached
        kwargs = meta.get("kwargs") or {}
        test = meta.get("name")
        if test == "unique_combination" and kwargs.get("columns"):
            model.grains.append([str(c) for c in kwargs["columns"]])
        elif test == "unique" and kwargs.get("column_name"):
            model.grains.append([str(kwargs["column_name"])])
        elif test == "not_null" and kwargs.get("column_name"):
            model.not_null.add(str(kwargs["column_name"]))
    return {m.table: m for m in by_id.values()}


RAW_KEYS: dict[str, list[str]] = {
    "raw_shopify.orders": ["id", "updated_at"],
    "raw_shopify.order_lines": ["id", "_ingested_at"],
    "raw_shopify.refund_lines": ["id", "_ingested_at"],
    "raw_shopify.refund_transactions": ["id", "_ingested_at"],
    "raw_shopify.deleted_orders": ["event_id"],
    "raw_shopify.variant_costs": ["variant_id", "_extract_run_id"],
    "raw_meta_ads.insights": ["account_id", "ad_id", "date_start"],
    "raw_google_ads.campaign_stats": ["customer_id", "campaign_id", "date"],
    "raw_google_ads.ad_group_stats": ["customer_id", "ad_group_id", "date"],
    "raw_google_ads.ad_stats": ["customer_id", "ad_group_id", "ad_id", "date"],
    "raw_tiktok_ads.ad_stats": ["advertiser_id", "ad_id", "stat_date"],
    "raw_fairing.responses": ["id", "updated_at"],
}
"""What identifies a row of a raw table within one extraction (`_extract_run_id`): an order
version (an order edited while it was being read comes twice, with different `updated_at`),
a child row of one batch, an ad entity's day, a survey response version."""


def table_keys(ctx: CheckContext, table: str, models: dict[str, Model]) -> list[list[str]]:
    """The column lists that identify a row of `table`: `key` of its `[quality.tables]`
    section, else its dbt grain tests, else the raw table's known key."""
    override = ctx.settings.table(table).key
    if override:
        return [list(override)]
    if table in models:
        return models[table].grains
    return [RAW_KEYS[table]] if table in RAW_KEYS else []


def guarded(
    ctx: CheckContext, check: str, table: str, run: Callable[..., CheckResult], *args: Any
) -> CheckResult:
    """One table's result, or ERROR naming the table when checking it failed."""
    try:
        return run(*args)
    except Exception as exc:  # noqa: BLE001 - check health: a broken table check is a result
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return result(
            ctx,
            check,
            table,
            Severity.ERROR,
            f"check `{check}` could not run on `{table}`: {first}; fix the table or its "
            f'[quality.tables."{table}"] settings',
        )
