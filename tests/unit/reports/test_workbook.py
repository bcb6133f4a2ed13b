from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.csv as pacsv

from martlake.reports import write_csvs, write_workbook


def daily() -> pa.Table:
    return pa.table(
        {
            "date": pa.array([date(2025, 1, 1), date(2025, 1, 2)], pa.date32()),
            "orders": pa.array([3, 5], pa.int64()),
            "net_sales": pa.array([Decimal("10.50"), Decimal("1234.99")], pa.decimal128(18, 2)),
            "roas": pa.array([1.5, None], pa.float64()),
            "channel": ["meta", "a much longer channel name than the header"],
        }
    )


def test_workbook_has_a_formatted_sheet_per_model(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "report.xlsx", {"daily": daily(), "other": daily()})
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["daily", "other"]
    sheet = book["daily"]
    assert [c.value for c in sheet[1]] == ["date", "orders", "net_sales", "roas", "channel"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold
    assert sheet["C3"].value == 1234.99
    assert sheet["C3"].number_format == "#,##0.00"
    assert sheet["B2"].number_format == "#,##0"
    assert sheet["A2"].number_format == "yyyy-mm-dd"
    assert sheet["D3"].value is None
    assert sheet.column_dimensions["E"].width > sheet.column_dimensions["B"].width
    assert sheet.auto_filter.ref is not None


def test_csv_round_trips_exact_money(tmp_path: Path) -> None:
    [path] = write_csvs(tmp_path / "csv", {"daily": daily()})
    back = pacsv.read_csv(path)
    assert back.column("net_sales").to_pylist() == [10.5, 1234.99]
    assert path.read_text().splitlines()[0] == '"date","orders","net_sales","roas","channel"'


def test_long_model_names_get_distinct_sheet_names(tmp_path: Path) -> None:
    long = "marketing_unified_with_explanations_"
    path = write_workbook(tmp_path / "r.xlsx", {long + "a": daily(), long + "b": daily()})
    names = openpyxl.load_workbook(path).sheetnames
    assert len(names) == 2 and len(set(names)) == 2 and all(len(n) <= 31 for n in names)


def test_unwritable_folder_is_a_report_error(tmp_path: Path) -> None:
    import pytest

    from martlake.errors import ReportError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReportError, match="cannot write"):
        write_workbook(blocker / "report.xlsx", {"daily": daily()})
    with pytest.raises(ReportError, match="cannot create"):
        write_csvs(blocker / "csv", {"daily": daily()})
