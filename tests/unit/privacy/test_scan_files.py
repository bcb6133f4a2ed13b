from __future__ import annotations

import zipfile
from io import BytesIO
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from martlake.privacy import Finding, Hasher, mask, scan_files

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "privacy"
EMAIL = "planted.person@example.com"
PHONE = "+44 20 7946 0958"


def scan_text(tmp_path: Path, text: str) -> list[Finding]:
    (tmp_path / "note.txt").write_text(text)
    return scan_files(tmp_path)


PHONES = [
    "+15552345678",
    "+1 555-234-5678",
    "(555) 234-5678",
    "555.234.5678",
    "555-234-5678",
    "+44 20 7946 0958",
    "020 7946 0958",
    "tel:+33612345678",
    "phone=+15552345678",
    "+33 6 12 34 56 78",
    "+44 7911 123456",
    "+49 30 123456",
    "+61 4 1234 5678",
    "555 234 5678",
]
NOT_PII = [
    "2025-01-31",
    "2025-01-31T10:00:00+00:00",
    "2025-01-31 10:00:00.123456+05:30",
    "1234567890",
    "order 1234567890123 paid",
    "customer 123-456-7890",
    "$1,234.56",
    "+12.5%",
    "-1234567.89",
    Hasher().email("jane@example.com") or "",
    "gid://shopify/Order/5552345678",
    "act_1234567890",
    "550e8400-e29b-41d4-a716-446655440000",
    "utm_campaign=spring+20250101",
    "#1001 v21.0 10:30:00",
    "YWJjZGVm+12345678901/xyz==",
    "Summer Sale 05 12 2025",
    "Promo 01 06 2025",
    "Promo 01 06 2025 10",
    "sizes 06 08 10 12",
    "+12 34 56",
    "logo@2x.png",
    "icons/arrow@2x.svg?v=3",
    "test@example.comment",
]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_in_the_usual_formats_are_found(tmp_path: Path, phone: str) -> None:
    found = scan_text(tmp_path, f"call {phone} today")
    assert [(f.kind, f.count) for f in found] == [("phone", 1)]
    assert phone not in found[0].sample


@pytest.mark.parametrize("text", NOT_PII)
def test_ids_dates_money_hashes_and_file_names_are_not_pii(tmp_path: Path, text: str) -> None:
    assert scan_text(tmp_path, text) == []


@pytest.mark.parametrize(
    ("text", "sample"),
    [
        ("Jane.Doe+tag@Sub.Example.co.uk", "J***@Sub.Example.co.uk"),
        ("/?ref=mail&e=jane%40example.com", "j***@example.com"),
        ("<b>bob@example.org</b>", "b***@example.org"),
        ("write to ann@brand.company.", "a***@brand.company"),
        ("ann@example.com\n", "a***@example.com"),
    ],
    ids=["plus-and-subdomain", "url-encoded", "in-markup", "long-tld", "line-end"],
)
def test_emails_are_found_and_masked(tmp_path: Path, text: str, sample: str) -> None:
    assert scan_text(tmp_path, text) == [Finding("note.txt", "email", 1, sample)]


def test_masks_never_show_the_value() -> None:
    assert mask(EMAIL, "email") == "p***@example.com"
    assert mask(PHONE, "phone") == "+4*********58"
    assert mask("555-234-5678", "phone") == "5*******78"


def write_csv(folder: Path) -> str:
    path = folder / "csv" / "customers.csv"
    path.parent.mkdir()
    path.write_text(f"id,date,email\n1,2025-01-01,{Hasher().email(EMAIL)}\n2,2025-01-02,{EMAIL}\n")
    return "csv/customers.csv"


def write_json(folder: Path) -> str:
    (folder / "run.json").write_text('{"checks": [{"message": "sent to ' + EMAIL + '"}]}')
    return "run.json"


def write_html(folder: Path) -> str:
    (folder / "dashboard.html").write_text(f"<html><td>{PHONE}</td></html>")
    return "dashboard.html"


def write_eml(folder: Path) -> str:
    (folder / "email.eml").write_text(f"Subject: daily\n\nCall {PHONE}\n")
    return "email.eml"


def write_xlsx(folder: Path) -> str:
    book = openpyxl.Workbook()
    book.active.title = "data_sources"
    sheet = book.create_sheet("shopify_daily_metrics")
    sheet.append(["date", "orders", "note"])
    sheet.append(["2025-01-01", 3, f"Contact: {EMAIL}"])
    book.save(folder / "report.xlsx")
    return "report.xlsx:shopify_daily_metrics"


def write_xlsx_shared_strings(folder: Path) -> str:
    with xlsxwriter.Workbook(folder / "report.xlsx") as book:
        book.add_worksheet("data_sources").write_row(0, 0, ["source", "state"])
        sheet = book.add_worksheet("marketing_unified")
        sheet.write_row(0, 0, ["date", "channel", "note"])
        sheet.write_row(1, 0, ["2025-01-01", "meta", f"ask {EMAIL}"])
    return "report.xlsx:marketing_unified"


def deck(planted: str, embedded: bytes | None = None) -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(p for p in (FIXTURES / "deck").rglob("*") if p.is_file()):
            text = path.read_text().replace("{planted}", planted)
            archive.writestr(path.relative_to(FIXTURES / "deck").as_posix(), text)
        if embedded is not None:
            archive.writestr("ppt/embeddings/Microsoft_Excel_Worksheet1.xlsx", embedded)
    return out.getvalue()


def write_pptx(folder: Path) -> str:
    (folder / "report.pptx").write_bytes(deck(f"Top customer: {EMAIL}"))
    return "report.pptx:slide2"


def write_pptx_chart_data(folder: Path) -> str:
    book = openpyxl.Workbook()
    book.active.title = "Sheet1"
    book.active.append(["customer", "revenue"])
    book.active.append([EMAIL, 120])
    data = BytesIO()
    book.save(data)
    (folder / "report.pptx").write_bytes(deck("Top customers", data.getvalue()))
    return "report.pptx:ppt/embeddings/Microsoft_Excel_Worksheet1.xlsx:Sheet1"


@pytest.mark.parametrize(
    "plant",
    [
        write_csv,
        write_json,
        write_html,
        write_eml,
        write_xlsx,
        write_xlsx_shared_strings,
        write_pptx,
        write_pptx_chart_data,
    ],
    ids=[
        "csv",
        "json",
        "html",
        "eml",
        "xlsx-cell",
        "xlsx-shared-string",
        "pptx-text",
        "pptx-chart-data",
    ],
)
def test_pii_planted_in_an_output_file_is_found_where_it_is(tmp_path: Path, plant: object) -> None:
    out = tmp_path / "2025-06-30"
    out.mkdir()
    (out / "logo.png").write_bytes(b"\x89PNG " + EMAIL.encode())  # binary files are not read
    where = plant(out)  # type: ignore[operator]
    found = scan_files(tmp_path)
    assert [f.where for f in found] == [f"2025-06-30/{where}"]
    assert found[0].count == 1
    assert EMAIL not in found[0].sample and PHONE not in found[0].sample


def test_a_clean_deck_and_workbook_have_no_findings(tmp_path: Path) -> None:
    (tmp_path / "report.pptx").write_bytes(deck("Spend by channel, week 27"))
    book = openpyxl.Workbook()
    book.active.append(["date", "spend", "email_hash"])
    book.active.append(["2025-01-01", 1234.56, Hasher().email(EMAIL)])
    book.save(tmp_path / "report.xlsx")
    assert scan_files(tmp_path) == []


@pytest.mark.parametrize(
    "damage",
    [b"PK\x03\x04 not a zip", None],
    ids=["not-a-zip", "corrupt-member"],
)
def test_a_damaged_workbook_is_reported_unreadable_not_clean(
    tmp_path: Path, damage: bytes | None
) -> None:
    if damage is None:
        data = BytesIO()
        with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
            numbers = " ".join(str(i * 7919 % 10007) for i in range(3000))
            archive.writestr("xl/worksheets/sheet1.xml", f"<c>{numbers}</c>")
        raw = bytearray(data.getvalue())
        raw[60:260] = b"\xff" * 200  # inside the deflated member: zlib fails to inflate it
        damage = bytes(raw)
    (tmp_path / "report.xlsx").write_bytes(damage)
    (tmp_path / "report.csv").write_text(f"note\n{EMAIL}\n")
    found = scan_files(tmp_path)
    assert [(f.where, f.kind) for f in found] == [
        ("report.csv", "email"),
        ("report.xlsx", "unreadable"),
    ]
    assert "report.xlsx" not in found[1].sample and "re-create the file" in found[1].sample
