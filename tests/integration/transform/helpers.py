"""Build a raw zone from tests/fixtures/raw and run the shipped dbt project on it."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from martlake.transform import PROJECT_DIR, DbtResult, run_dbt

RAW_FIXTURES = Path(__file__).parents[2] / "fixtures" / "raw"
EXPECTED_MARTS = RAW_FIXTURES / "expected"


SHIPPED_MODELS = frozenset(path.stem for path in (PROJECT_DIR / "models").rglob("*.sql"))
"""Every model the package ships; a build must report each of them."""

RAW_SCHEMAS = ("raw_shopify", "raw_meta_ads", "raw_google_ads", "raw_tiktok_ads")


def load_raw_zone(
    database: Path, *, omit: Collection[str] = (), omit_columns: Collection[str] = ()
) -> None:
    """Create the raw tables with the contract's types and load the fixture CSVs.

    `omit` names tables (`raw_meta_ads.insights`) to leave out; a schema left empty is dropped.
    `omit_columns` names columns (`raw_tiktok_ads.ad_stats.conversion_value`) that were never
    created, as dlt does for a column that has only been NULL so far.
    """
    with duckdb.connect(str(database)) as con:
        con.execute((RAW_FIXTURES / "raw_zone.sql").read_text())
        for csv in sorted(RAW_FIXTURES.glob("*.csv")):
            table = csv.stem
            if table in omit:
                con.execute(f"drop table {table}")
                continue
            con.execute(
                f"insert into {table} by name "
                "select * from read_csv(?, header = true, all_varchar = true)",
                [str(csv)],
            )
        for column in omit_columns:
            table, name = column.rsplit(".", 1)
            con.execute(f"alter table {table} drop column {name}")
        for schema in RAW_SCHEMAS:
            left = con.execute(
                "select count(*) from information_schema.tables where table_schema = ?", [schema]
            ).fetchone()
            if left == (0,):
                con.execute(f"drop schema {schema}")


def query(database: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows of a query on a read-only connection that is closed again at once."""
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def tree_snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every file and folder under root with its mtime and content hash."""
    snapshot: dict[str, tuple[int, str]] = {}
    for path in sorted(root.rglob("*")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        snapshot[str(path.relative_to(root))] = (path.stat().st_mtime_ns, digest)
    return snapshot


@dataclass
class Captured:
    out: str = ""
    err: str = ""


@contextlib.contextmanager
def captured_fds() -> Iterator[Captured]:
    """Capture what anything in the process writes to file descriptors 1 and 2."""
    captured = Captured()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            out.seek(0)
            err.seek(0)
            captured.out = out.read().decode()
            captured.err = err.read().decode()


@dataclass
class Build:
    """A dbt build on a fixture raw zone, with what it left around it."""

    database: Path
    state_dir: Path
    result: DbtResult
    output: Captured
    package_before: dict[str, tuple[int, str]]
    package_after: dict[str, tuple[int, str]]
    cwd_after: list[str]

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return query(self.database, sql, params)

    def mart_and_expected(
        self, mart: str, order_by: str
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The mart's rows and the hand-computed ones in tests/fixtures/raw/expected/<mart>.csv.

        Only the CSV's columns are compared, CSV values are cast to the mart's column types, and
        ratios (DOUBLE) are rounded to 9 decimals on both sides.
        """
        csv = str(EXPECTED_MARTS / f"{mart}.csv")
        reader = "read_csv(?, header = true, all_varchar = true)"
        with duckdb.connect(str(self.database), read_only=True) as con:
            types = dict(
                con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = 'marts' and table_name = ?",
                    [mart],
                ).fetchall()
            )
            columns = [d[0] for d in con.execute(f"select * from {reader}", [csv]).description]
            casts = ", ".join(f'cast("{name}" as {types[name]})' for name in columns)
            expected = con.execute(
                f"select {casts} from {reader} order by {order_by}", [csv]
            ).fetchall()
            actual = con.execute(
                f"select {', '.join(columns)} from marts.{mart} order by {order_by}"
            ).fetchall()
        return _rounded(actual), _rounded(expected)


def _rounded(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows]


def build(
    root: Path,
    *,
    omit: Collection[str] = (),
    omit_columns: Collection[str] = (),
    **options: Any,
) -> Build:
    """Load the raw zone into root/warehouse.duckdb and run `dbt build` from root as cwd."""
    root.mkdir(parents=True, exist_ok=True)
    database = root / "warehouse.duckdb"
    state_dir = root / "state"
    load_raw_zone(database, omit=omit, omit_columns=omit_columns)
    cwd = root / "cwd"
    cwd.mkdir()
    before = tree_snapshot(PROJECT_DIR)
    with contextlib.chdir(cwd), captured_fds() as output:
        result = run_dbt("build", database=database, state_dir=state_dir, **options)
    return Build(
        database=database,
        state_dir=state_dir,
        result=result,
        output=output,
        package_before=before,
        package_after=tree_snapshot(PROJECT_DIR),
        cwd_after=sorted(os.listdir(cwd)),
    )
