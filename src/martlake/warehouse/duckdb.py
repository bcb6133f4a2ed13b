"""DuckDB file warehouse (the embedded default)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from martlake.errors import WarehouseError
from martlake.warehouse.base import Capabilities

logger = logging.getLogger(__name__)

META_SCHEMA = "martlake"
_META_DDL = (
    f"create schema if not exists {META_SCHEMA}",
    f"""create table if not exists {META_SCHEMA}.runs (
        run_id varchar primary key, started_at timestamptz, finished_at timestamptz,
        status varchar, exit_code integer, steps varchar, message varchar)""",
    f"""create table if not exists {META_SCHEMA}.run_log (
        run_id varchar, step varchar, status varchar, started_at timestamptz,
        finished_at timestamptz, seconds double, rows bigint, message varchar)""",
    f"""create table if not exists {META_SCHEMA}.source_log (
        run_id varchar, source varchar, status varchar, rows bigint, seconds double,
        message varchar, logged_at timestamptz)""",
    f"alter table {META_SCHEMA}.source_log add column if not exists requests bigint",
    f"alter table {META_SCHEMA}.source_log add column if not exists retries bigint",
    f"""create table if not exists {META_SCHEMA}.dq_check_result (
        run_id varchar, check_name varchar, table_name varchar, severity varchar,
        observed_value double, warn_threshold double, critical_threshold double,
        message varchar, checked_at timestamptz)""",
    f"""create table if not exists {META_SCHEMA}.dq_reconciliation (
        run_id varchar, source varchar, account_id varchar, day date, metric varchar,
        campaign_id varchar, currency varchar, source_value decimal(18, 2),
        warehouse_value decimal(18, 2), diff decimal(18, 2), status varchar,
        checked_at timestamptz)""",
    f"""create table if not exists {META_SCHEMA}.dq_alert (
        run_id varchar, alert_key varchar, check_name varchar, table_name varchar,
        severity varchar, state varchar, suppressed boolean, first_seen timestamptz,
        last_sent_at timestamptz, last_sent_severity varchar, channels varchar,
        failed_channels varchar, message varchar, event_at timestamptz)""",
    f"""create table if not exists {META_SCHEMA}.dq_run (
        run_id varchar, started_at timestamptz, finished_at timestamptz, worst_severity varchar,
        results bigint)""",
    f"""create table if not exists {META_SCHEMA}.dq_metric_history (
        run_id varchar, metric varchar, table_name varchar, dimension varchar, day date,
        value double, observed_at timestamptz)""",
    f"""create table if not exists {META_SCHEMA}.dq_schema_snapshot (
        run_id varchar, table_name varchar, column_name varchar, data_type varchar,
        position integer, snapshot_at timestamptz, accepted boolean)""",
)


class DuckDBWarehouse:
    """A DuckDB file. Connections are short-lived so dlt and dbt can take the file in turn."""

    capabilities = Capabilities(single_writer=True, dlt_destination="duckdb", dbt_adapter="duckdb")

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the file, translate engine errors, and always close.

        Raises:
            WarehouseError: The file cannot be opened or a statement failed.
        """
        if read_only and not self.path.exists():
            raise WarehouseError(f"no warehouse at `{self.path}` yet: run `martlake run` first")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise WarehouseError(
                f"cannot open the warehouse `{self.path}`: {_first_line(exc)}; if another "
                "program (a DuckDB shell, a notebook) has it open, close it and retry"
            ) from None
        try:
            yield con
        except duckdb.Error as exc:
            raise WarehouseError(f"warehouse `{self.path.name}`: {_first_line(exc)}") from None
        finally:
            con.close()

    def ensure_meta(self) -> None:
        """Create martlake's own tables (runs, run log, check results) if absent."""
        with self.connect() as con:
            for ddl in _META_DDL:
                con.execute(ddl)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement in its own connection."""
        with self.connect() as con:
            con.execute(sql, list(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for many parameter rows in one transaction."""
        if not rows:
            return
        with self.connect() as con:
            con.executemany(sql, [list(r) for r in rows])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query; empty when the warehouse file does not exist yet."""
        if not self.path.exists():
            return []
        with self.connect(read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()

    def arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        """A query's result as a pyarrow table."""
        with self.connect(read_only=True) as con:
            result: pa.Table = con.sql(sql, params=list(params) or None).to_arrow_table()
            return result

    def tables(self) -> list[tuple[str, str]]:
        """(schema, table) of every base table and view."""
        return [
            (s, t)
            for s, t in self.query(
                "select table_schema, table_name from information_schema.tables "
                "order by table_schema, table_name"
            )
        ]

    def exists(self, schema: str, table: str) -> bool:
        """Whether `schema.table` exists."""
        return (schema, table) in set(self.tables())

    def max_by_account(
        self, schema: str, table: str, account_column: str, column: str
    ) -> dict[str, Any]:
        """`max(column)` per account: the watermark of an incremental stream."""
        if not self.exists(schema, table):
            return {}
        rows = self.query(
            f'select "{account_column}", max("{column}") from "{schema}"."{table}" group by 1'
        )
        return {str(account): value for account, value in rows if value is not None}

    def dlt_destination(self) -> Any:
        """The dlt destination writing into this file."""
        import dlt

        return dlt.destinations.duckdb(credentials=str(self.path))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
