"""The warehouse scan runs the same patterns in DuckDB SQL (RE2) as the file scan in Python."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from martlake.config import load_project
from martlake.pipeline._privacy import leak_checks
from martlake.privacy import Finding, scan_files, scan_warehouse
from martlake.quality import Severity
from martlake.warehouse import DuckDBWarehouse
from tests.unit.privacy.test_scan_files import NOT_PII, PHONES

EMAILS = ["Jane.Doe+tag@Sub.Example.co.uk", "e=jane%40example.com", "ann@brand.company."]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> DuckDBWarehouse:
    path = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    texts = [f"call {t} today" for t in PHONES] + NOT_PII + EMAILS
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        columns = ", ".join(f"c{i} varchar" for i in range(len(texts)))
        con.execute(f"create table marts.texts ({columns}, amount double)")
        con.execute(f"insert into marts.texts values ({', '.join('?' * len(texts))}, 1.5)", texts)
        con.execute("create table marts.gone (email varchar)")
        con.execute("create view marts.broken as select email from marts.gone")
        con.execute("drop table marts.gone")
    return DuckDBWarehouse(path)


def test_the_sql_scan_finds_what_the_file_scan_finds(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    found = {f.where: f for f in scan_warehouse(warehouse) if f.kind != "unreadable"}
    texts = [f"call {t} today" for t in PHONES] + NOT_PII + EMAILS
    expected = {}
    for i, text in enumerate(texts):
        (tmp_path / "note.txt").write_text(text)
        for f in scan_files(tmp_path):
            expected[f"marts.texts.c{i}"] = Finding(f"marts.texts.c{i}", f.kind, 1, f.sample)
    assert found == expected
    assert {f.kind for f in found.values()} == {"phone", "email"}
    assert len(found) == len(PHONES) + len(EMAILS)


def test_a_view_the_scan_cannot_read_is_reported_not_skipped(warehouse: DuckDBWarehouse) -> None:
    (broken,) = [f for f in scan_warehouse(warehouse) if f.kind == "unreadable"]
    assert broken.where == "marts.broken"
    assert "gone" in broken.sample and "fix or drop" in broken.sample


def test_a_scan_that_cannot_read_a_table_is_an_error_result_never_ok(tmp_path: Path) -> None:
    (tmp_path / "martlake.toml").write_text("")
    project = load_project(tmp_path, environ={})
    wh = DuckDBWarehouse(project.warehouse_path)
    wh.ensure_meta()
    wh.execute("create table main.gone (email varchar)")
    wh.execute("create view main.broken as select email from main.gone")
    wh.execute("drop table main.gone")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.pptx").write_bytes(b"PK\x03\x04 damaged")

    results = leak_checks(project, wh, "run-1", out)

    assert [(r.table, r.severity) for r in results] == [
        ("main.broken", Severity.ERROR),
        ("report.pptx", Severity.ERROR),
    ]
    assert "`main.broken` was not checked for plaintext PII: it cannot be scanned" in (
        results[0].message
    )
    assert "fix or drop the table or view" in results[0].message
    recorded = wh.query("select severity from martlake.dq_check_result where run_id = 'run-1'")
    assert recorded == [("ERROR",), ("ERROR",)]
