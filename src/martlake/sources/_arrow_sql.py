"""API pages to raw-table columns with SQL in an in-memory DuckDB.

Each batch of page bodies is parsed in C (`from_json` into only the fields a source reads, no
Python dict per row) and once more per object level whose keys drift detection needs
(`json_keys`). Nothing is written to disk: the bodies reach DuckDB as an Arrow column of this
process, and that DuckDB may not touch files.

This is a fast path. A source runs its Python path, the reference, whenever the SQL path cannot
vouch for a batch (`FastPathMiss`: a required field that is null or absent, a value outside the
strict forms below, a body DuckDB cannot read), so errors, warnings and values are the Python
path's. The queries return text where the Python path hands text to Arrow (money, timestamps,
dates), so `build_table` casts both paths' values with the same Arrow rules.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

BATCH_BYTES = 48 << 20
"""Page bodies converted together: larger batches pay DuckDB's per-query cost less often."""

# TRY_CAST behind a strict pattern: DuckDB pushes casts into `from_json`, where a plain CAST would
# fail on rows the CASE never selects.
MACROS = r"""
CREATE OR REPLACE TEMP MACRO ml_miss() AS error('martlake: fast path miss');
-- An integer as the Python path takes it (digits, optional minus; 18 digits fit BIGINT), else miss.
CREATE OR REPLACE TEMP MACRO ml_int(v) AS CASE
    WHEN v IS NULL THEN NULL
    WHEN regexp_full_match(v, '-?[0-9]{1,18}') THEN TRY_CAST(v AS BIGINT)
    ELSE ml_miss() END;
-- An amount as a decimal for sums (money strings have at most 2 decimals; more would be
-- refused by Arrow's cast on the Python path, so they miss here).
CREATE OR REPLACE TEMP MACRO ml_dec(v) AS CASE
    WHEN v IS NULL OR v = '' THEN NULL
    WHEN regexp_full_match(v, '-?[0-9]{1,15}(\.[0-9]{1,2})?') THEN TRY_CAST(v AS DECIMAL(18, 2))
    ELSE ml_miss() END;
"""


class FastPathMiss(Exception):  # noqa: N818 - a signal, not an error
    """The SQL path cannot vouch for this batch; the Python path decides."""


class PageSql:
    """Runs a source's queries over batches of page bodies in its own in-memory DuckDB.

    Args:
        structure: The `from_json` structure of one page (only the fields read).
        macros: SQL run once per connection after the shared macros.
    """

    def __init__(self, structure: Mapping[str, Any], macros: str = "") -> None:
        self._structure = json.dumps(structure, separators=(",", ":")).replace("'", "''")
        self._macros = MACROS + macros
        self._local = threading.local()

    def _connection(self) -> Any:
        con = getattr(self._local, "con", None)
        if con is None:
            import duckdb

            con = duckdb.connect(":memory:")
            con.execute("SET TimeZone = 'UTC'")
            con.execute(self._macros)
            # Pages are data: nothing in them, or in a query, may reach the file system.
            con.execute("SET enable_external_access = false")
            self._local.con = con
        return con

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    def run(
        self,
        bodies: Sequence[bytes],
        queries: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
        keys: Mapping[str, str] | None = None,
        materialize: bool = False,
    ) -> tuple[dict[str, set[str]], dict[str, pa.Table]]:
        """The keys found at each of `keys`' JSON paths, and each query's result.

        Queries read `pages(p)`, one parsed page per row (a view, or a table parsed once with
        `materialize` for several queries), and `$name` parameters from `params`. A query's
        boolean `_miss` column, if any, raises `FastPathMiss` when true on any row and is
        dropped otherwise. `keys` maps a name to a JSON path with wildcards, such as
        `$.data[*]`: the union of the keys of every object it reaches, in every body.

        Raises:
            FastPathMiss: DuckDB refused the bodies or a query, or a `_miss` was true.
        """
        import duckdb

        con = self._connection()
        try:
            column = pa.array(bodies, pa.binary()).cast(pa.string())
        except pa.ArrowInvalid:
            raise FastPathMiss("a body is not UTF-8") from None
        # One record batch per body lets DuckDB parse bodies on all its threads.
        table = pa.Table.from_batches(
            [pa.record_batch([column.slice(i, 1)], names=["body"]) for i in range(len(column))]
        )
        con.register("ml_bodies", table)
        kind = "TABLE" if materialize else "VIEW"
        found: dict[str, set[str]] = {}
        try:
            for name, path in (keys or {}).items():
                rows = con.execute(
                    f"SELECT DISTINCT unnest(flatten(json_keys(body, '{path}'))) FROM ml_bodies"
                ).fetchall()
                found[name] = {row[0] for row in rows}
            con.execute(
                f"CREATE OR REPLACE TEMP {kind} pages AS "
                f"SELECT from_json(body, '{self._structure}') AS p FROM ml_bodies"
            )
            out = {
                name: con.sql(sql, params=_used(sql, params or {})).to_arrow_table()
                for name, sql in queries.items()
            }
        except duckdb.Error as exc:
            raise FastPathMiss(str(exc).splitlines()[0][:200]) from None
        finally:
            con.execute(f"DROP {kind} IF EXISTS pages")
            con.unregister("ml_bodies")
        for name, result in out.items():
            if "_miss" in result.column_names:
                miss = result.column("_miss")
                if miss.null_count < len(miss) and pc.any(miss).as_py():
                    raise FastPathMiss(f"`{name}` has a row the SQL path does not vouch for")
                out[name] = result.drop_columns(["_miss"])
        return found, out


def _used(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in params.items() if f"${name}" in sql}


def batched(bodies: Iterable[bytes], size: int = BATCH_BYTES) -> Iterator[list[bytes]]:
    """Consecutive groups of bodies of about `size` bytes together."""
    group: list[bytes] = []
    total = 0
    for body in bodies:
        group.append(body)
        total += len(body)
        if total >= size:
            yield group
            group, total = [], 0
    if group:
        yield group
