"""PII on a real sandbox run: nothing plaintext after a normal run, hashes join across sources,
and a leak planted anywhere (warehouse table, column, output file) is found and fails the run."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pyarrow as pa
import pytest

from martlake.cli.app import main
from martlake.config import Project
from martlake.pipeline import RunOptions, RunResult, run_pipeline, simulator_config
from martlake.privacy import Hasher, PiiPolicy, scan
from martlake.sandbox import Business
from martlake.warehouse import DuckDBWarehouse
from tests.sandbox_project import make_sandbox_project, project

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("privacy")]
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "privacy"
EMAIL = "planted.person@example.com"
PHONE = "+44 20 7946 0958"
START, END = date(2025, 1, 1), date(2025, 1, 30)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, RunResult]:
    root = make_sandbox_project(
        tmp_path_factory.mktemp("shop"), start=START, end=END, orders_per_day=5
    )
    proj = project(root)
    return proj, run_pipeline(proj)


@pytest.fixture
def copy(clean_run: tuple[Project, RunResult], tmp_path: Path) -> Project:
    """A copy of the clean project to plant a leak in."""
    target = tmp_path / "shop"
    shutil.copytree(clean_run[0].root, target, ignore=shutil.ignore_patterns("dlt"))
    return project(target)


def output_folder(proj: Project) -> Path:
    (folder,) = [p for p in proj.output_dir.iterdir() if p.is_dir()]
    return folder


def test_a_normal_run_leaves_no_plaintext_email_or_phone_anywhere(
    clean_run: tuple[Project, RunResult], capsys: pytest.CaptureFixture[str]
) -> None:
    proj, result = clean_run
    # Other checks may judge the simulated data; the leak scan ends the publish step.
    (publish,) = [s for s in result.steps if s.step == "publish"]
    assert publish.status.value in {"ok", "warn"}, publish
    assert scan(proj) == []
    rows = DuckDBWarehouse(proj.warehouse_path).query(
        "select severity, table_name from martlake.dq_check_result "
        "where check_name = 'privacy_leak' and run_id = ?",
        [result.run_id],
    )
    assert rows == [("OK", "warehouse and outputs")]
    assert main(["privacy", "scan", "-p", str(proj.root)]) == 0
    assert "no plaintext email or phone" in capsys.readouterr().out


def test_shopify_and_a_second_source_hash_the_same_person_alike(
    clean_run: tuple[Project, RunResult], copy: Project
) -> None:
    orders = Business(simulator_config(clean_run[0])).orders
    emails = {o["id"]: o["email"] for o in orders if o.get("email")}
    # Another source (a CSV export, an SQL table) spells the same addresses its own way.
    export = pa.table(
        {
            "order_id": list(emails),
            "Email": [f"  {e.upper()} " for e in emails.values()],
        }
    )
    protected = PiiPolicy.from_settings(copy.settings.privacy).apply("files", "exports", export)
    assert protected.column_names == ["order_id", "Email_hash"]
    with duckdb.connect(str(copy.warehouse_path)) as con:
        con.execute("create schema raw_files")
        con.execute("create table raw_files.exports as select * from protected")
        pairs = con.execute(
            "select o.email_hash, f.Email_hash from raw_shopify.orders o "
            "join raw_files.exports f on f.order_id = o.id"
        ).fetchall()
    assert len(pairs) == len({o["id"] for o in orders if o.get("email")}) > 20
    assert all(shop == other and shop is not None for shop, other in pairs)
    some_id, some_email = next(iter(emails.items()))
    hashes = DuckDBWarehouse(copy.warehouse_path).query(
        "select distinct email_hash from raw_shopify.orders where id = ?", [some_id]
    )
    assert hashes == [(Hasher().email(some_email),)]
    assert scan(copy) == []


def plant_sql(sql: str) -> Callable[[Project], str]:
    def plant(proj: Project) -> str:
        with duckdb.connect(str(proj.warehouse_path)) as con:
            con.execute(sql)
        return ""

    return plant


def plant_text_column(schema: str, table: str) -> Callable[[Project], str]:
    """Overwrite the first text column of one row of `schema.table` with an email."""

    def plant(proj: Project) -> str:
        with duckdb.connect(str(proj.warehouse_path)) as con:
            (column,) = con.execute(
                "select column_name from information_schema.columns where table_schema = ? "
                "and table_name = ? and data_type = 'VARCHAR' order by ordinal_position limit 1",
                [schema, table],
            ).fetchone() or (None,)
            con.execute(
                f'update {schema}.{table} set "{column}" = ? where rowid = '
                f"(select min(rowid) from {schema}.{table})",
                [f"Contact {EMAIL}"],
            )
        return f"{schema}.{table}.{column}"

    return plant


def plant_csv(proj: Project) -> str:
    folder = output_folder(proj)
    csv = sorted((folder / "csv").glob("*.csv"))[0]
    csv.write_text(csv.read_text() + f"{EMAIL}\n")
    return f"{folder.name}/csv/{csv.name}"


def plant_xlsx(proj: Project) -> str:
    folder = output_folder(proj)
    book = openpyxl.load_workbook(folder / "report.xlsx")
    sheet = book.worksheets[-1]
    sheet.cell(row=2, column=2, value=f"call {PHONE}")
    book.save(folder / "report.xlsx")
    return f"{folder.name}/report.xlsx:{sheet.title}"


def plant_pptx(proj: Project) -> str:
    folder = output_folder(proj)
    with zipfile.ZipFile(folder / "report.pptx", "w") as archive:
        for path in sorted(p for p in (FIXTURES / "deck").rglob("*") if p.is_file()):
            text = path.read_text().replace("{planted}", f"Best customer: {EMAIL}")
            archive.writestr(path.relative_to(FIXTURES / "deck").as_posix(), text)
    return f"{folder.name}/report.pptx:slide2"


PLANTS: dict[str, tuple[Callable[[Project], str], str]] = {
    "raw-table": (plant_text_column("raw_shopify", "orders"), "email"),
    "url-encoded-in-raw": (
        plant_sql(
            f"update raw_shopify.orders set landing_site = '/?e={EMAIL.replace('@', '%40')}'"
        ),
        "email",
    ),
    "staging-table": (plant_text_column("staging", "stg_shopify__orders"), "email"),
    "mart-table": (plant_text_column("marts", "marketing_unified"), "email"),
    "martlake-meta": (
        plant_sql(f"insert into martlake.source_log (run_id, message) values ('x', 'to {PHONE}')"),
        "phone",
    ),
    "json-column": (
        plant_sql(
            "create table raw_shopify.payloads as select 1 as id, "
            f'\'{{"customer": {{"phone": "{PHONE}"}}}}\'::json as payload'
        ),
        "phone",
    ),
    "csv-file": (plant_csv, "email"),
    "xlsx-cell": (plant_xlsx, "phone"),
    "pptx-text": (plant_pptx, "email"),
}
WHERE = {
    "url-encoded-in-raw": "raw_shopify.orders.landing_site",
    "martlake-meta": "martlake.source_log.message",
    "json-column": "raw_shopify.payloads.payload",
}


@pytest.mark.parametrize("case", sorted(PLANTS))
def test_a_planted_leak_is_found_and_named_without_showing_it(
    copy: Project, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    plant, kind = PLANTS[case]
    where = plant(copy) or WHERE[case]
    findings = scan(copy)
    assert [(f.where, f.kind) for f in findings] == [(where, kind)]
    assert main(["privacy", "scan", "-p", str(copy.root)]) == 1
    out = capsys.readouterr().out
    assert where.split(":")[0] in out.replace("\n", "")
    assert EMAIL not in out and PHONE not in out and "planted.person" not in out


def test_a_leak_fails_the_run_with_a_critical_privacy_check(copy: Project) -> None:
    where = plant_text_column("marts", "shopify_daily_metrics")(copy)
    result = run_pipeline(copy, RunOptions(only="publish"))
    assert result.exit_code == 1
    (publish,) = result.steps
    assert publish.status.value == "failed" and where in (publish.message or "")
    rows = DuckDBWarehouse(copy.warehouse_path).query(
        "select severity, message from martlake.dq_check_result "
        "where check_name = 'privacy_leak' and run_id = ? and table_name = ?",
        [result.run_id, where],
    )
    assert len(rows) == 1 and rows[0][0] == "CRITICAL"
    assert "p***@example.com" in rows[0][1] and EMAIL not in rows[0][1]


def test_a_run_in_hmac_mode_without_a_secret_stops_before_reading_anything(
    copy: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    config = copy.root / "martlake.toml"
    config.write_text(config.read_text() + '\n[privacy]\nmode = "hmac"\n')
    assert main(["run", "-p", str(copy.root)]) == 2
    err = capsys.readouterr().err
    assert "`privacy.secret` is not set" in err and "MARTLAKE__PRIVACY__SECRET" in err


def test_hmac_mode_hashes_shopify_with_the_secret_and_never_stores_it(
    copy: Project,
) -> None:
    secret = "pepper-9f8e7d6c"
    config = copy.root / "martlake.toml"
    config.write_text(config.read_text() + '\n[privacy]\nmode = "hmac"\n')
    secrets = copy.root / ".martlake" / "secrets.toml"
    secrets.write_text(secrets.read_text() + f'\n[privacy]\nsecret = "{secret}"\n')
    copy.warehouse_path.unlink()
    proj = project(copy.root)
    steps = frozenset({"transform", "quality", "reconcile", "publish"})
    assert run_pipeline(proj, RunOptions(skip=steps)).exit_code == 0
    emails = {o["id"]: o["email"] for o in Business(simulator_config(proj)).orders}
    stored = DuckDBWarehouse(proj.warehouse_path).query(
        "select id, email_hash from raw_shopify.orders"
    )
    hmac = Hasher("hmac", secret)
    assert stored and all(h == hmac.email(emails[i]) for i, h in stored)
    assert all(h != Hasher().email(emails[i]) for i, h in stored)
    for path in proj.root.rglob("*"):
        if path.is_file() and path.name != "secrets.toml":
            assert secret.encode() not in path.read_bytes(), path
