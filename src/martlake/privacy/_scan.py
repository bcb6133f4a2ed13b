"""The leak scanner: plaintext emails and phone numbers in the warehouse and the output files."""

from __future__ import annotations

import html
import logging
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote

from martlake.errors import WarehouseError

if TYPE_CHECKING:
    from martlake.config import Project
    from martlake.warehouse import DuckDBWarehouse

logger = logging.getLogger(__name__)

LeakKind = Literal["email", "phone", "unreadable"]

NOT_TLDS = frozenset(
    "png jpg jpeg gif svg webp bmp ico tif tiff avif heic css js mjs map json xml html htm pdf "
    "txt csv tsv zip gz mp3 mp4 mov wav woff woff2 ttf otf eot".split()
)
"""File extensions, not top-level domains: `logo@2x.png` is an image, not an address."""
_LONG_TLDS = (
    "academy agency business capital center company consulting digital education email "
    "finance holdings international management marketing network online partners "
    "photography services shopping software solutions studio support systems technology "
    "ventures"
).split()

EMAIL_PATTERN = (
    r"([A-Za-z0-9][A-Za-z0-9._%+-]*(?:@|%40)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.(?:[A-Za-z]{2,6}|(?i:"
    + "|".join(_LONG_TLDS)
    + r")))(?:$|[^A-Za-z0-9_])"
)
"""An email address, also URL-encoded (`jane%40example.com`); the group is the address. The
top-level domain ends at a word boundary and has 2 to 6 letters or is a known longer one, so
`test@example.comment` is not an address; one in `NOT_TLDS` is dropped after matching."""

PHONE_PATTERN = (
    r"(?:^|[^A-Za-z0-9_+/.%-])("
    r"\+[1-9][0-9]{0,14}(?:[ -]\(?[0-9]{1,6}\)?){0,6}"
    r"|\([0-9]{3}\) ?[0-9]{3}[-. ][0-9]{4}"
    r"|[2-9][0-9]{2}[-. ][2-9][0-9]{2}[-. ][0-9]{4}"
    r"|0[0-9]{1,4}(?: [0-9]{2,4}){2,4}"
    r")(?:$|[^A-Za-z0-9_])"
)
"""A phone number candidate: international (`+15552345678`, `+44 20 7946 0958`,
`+33 6 12 34 56 78`), North American (`(555) 234-5678`, `555-234-5678`, `555 234 5678`) and
national with a trunk `0` (`020 7946 0958`); the group is the number itself. A candidate is a
phone only if `PHONE_DIGITS` allows its digit count and it does not look like a date
(`DATE_LIKE_PATTERN`). Plain digit runs are not phones (ids, amounts), nor are dates, times
or hex hashes."""

PHONE_DIGITS: dict[str, tuple[int, int]] = {"+": (8, 15), "0": (9, 11), "": (10, 10)}
"""Digits a phone candidate must have, by its first character (`""`: any other)."""
DATE_LIKE_PATTERN = r"^[0-3][0-9][ ./-][0-3][0-9][ ./-](?:19|20)[0-9]{2}"
"""`05 12 2025`: a day, a month and a year, not a phone number."""

TEXT_SUFFIXES = frozenset(
    ".csv .tsv .txt .json .jsonl .ndjson .html .htm .eml .md .xml .yaml .yml .log .sql".split()
)
ZIP_SUFFIXES = frozenset(".xlsx .xlsm .pptx .docx".split())
_EMAIL = re.compile(EMAIL_PATTERN, re.MULTILINE)
_PHONE = re.compile(PHONE_PATTERN, re.MULTILINE)
_DATE_LIKE = re.compile(DATE_LIKE_PATTERN)
_XML_TEXT = re.compile(r">([^<]+)<")
_SHEET = re.compile(r"<(?:\w+:)?sheet\b[^>]*>")
_REL = re.compile(r"<(?:\w+:)?Relationship\b[^>]*>")
_ATTRIBUTE = re.compile(r"([\w:]+)=\"([^\"]*)\"")
_SHARED_CELL = re.compile(r"<c\b[^>]*\bt=\"s\"[^>]*>\s*<v>([0-9]+)</v>")
_SI = re.compile(r"<si>(.*?)</si>", re.DOTALL)
_MAX_NESTING = 2
_FILE_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    zipfile.BadZipFile,
    zlib.error,
)
"""What reading a damaged, encrypted or unsupported file or zip raises."""
_FILE_FIX = "delete or re-create the file (`martlake run --only publish`)"
_TABLES_PER_QUERY = 40


@dataclass(frozen=True)
class Finding:
    """Plaintext PII found in one place.

    Attributes:
        where: `schema.table.column` in the warehouse, or a file path relative to the scanned
            folder with `:sheet`, `:slideN` or `:member` for workbooks, decks and other zips.
        kind: `email` or `phone`; `unreadable` for a table or file the scan could not read
            (never reported clean).
        count: Rows (warehouse) or occurrences (files) holding it; 0 when unreadable.
        sample: One of the values, masked (`j***@example.com`, `+1*******67`); for an
            unreadable place, why and the fix.
    """

    where: str
    kind: LeakKind
    count: int
    sample: str


def mask(value: str, kind: LeakKind) -> str:
    """A value shown without revealing it.

    >>> mask("jane.doe@example.com", "email")
    'j***@example.com'
    >>> mask("+1 555-123-4567", "phone")
    '+1********67'
    """
    if kind == "email":
        local, _, domain = unquote(value).partition("@")
        return f"{local[:1]}***@{domain}"
    digits = re.sub(r"[^0-9]", "", value)
    head = "+" if value.lstrip().startswith("+") else ""
    return f"{head}{digits[:1]}{'*' * max(len(digits) - 3, 1)}{digits[-2:]}"


def scan(project: Project, output_dir: Path | str | None = None) -> list[Finding]:
    """Search every warehouse table and every output file for plaintext emails and phones.

    Args:
        project: The project whose warehouse is scanned.
        output_dir: The folder of files to scan; default the project's whole output folder.

    Returns:
        The findings, warehouse first, each with a masked sample; empty when nothing leaked.
    """
    from martlake.warehouse import DuckDBWarehouse

    folder = Path(output_dir) if output_dir is not None else project.output_dir
    return scan_warehouse(DuckDBWarehouse(project.warehouse_path)) + scan_files(folder)


def scan_warehouse(warehouse: DuckDBWarehouse) -> list[Finding]:
    """Findings in every text, JSON or nested column of every table and view."""
    if not warehouse.path.exists():
        return []
    columns = warehouse.query(
        "select c.table_schema, c.table_name, c.column_name from information_schema.columns c "
        "join information_schema.tables t using (table_catalog, table_schema, table_name) "
        "where c.table_catalog = current_database() "
        "and (c.data_type like '%VARCHAR%' or c.data_type like '%JSON%') "
        "order by c.table_schema, c.table_name, c.ordinal_position"
    )
    by_table: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in columns:
        by_table.setdefault((schema, table), []).append(column)
    tables = list(by_table.items())
    findings: list[Finding] = []
    for first in range(0, len(tables), _TABLES_PER_QUERY):
        chunk = tables[first : first + _TABLES_PER_QUERY]
        try:
            rows = warehouse.query(
                " union all ".join(_table_sql(i, *t) for i, t in enumerate(chunk))
            )
        except WarehouseError:
            # A view that no longer compiles fails the whole query; find it table by table.
            rows = []
            for i, t in enumerate(chunk):
                try:
                    rows += warehouse.query(_table_sql(i, *t))
                except WarehouseError as exc:
                    where = f"{t[0][0]}.{t[0][1]}"
                    logger.warning("privacy scan: cannot read %s (%s)", where, exc)
                    findings.append(_unreadable(where, str(exc), "fix or drop the table or view"))
        for index, stats in sorted(rows):
            (schema, table), names = chunk[index]
            for name, (emails, email, phones, phone) in zip(names, stats, strict=True):
                where = f"{schema}.{table}.{name}"
                if emails:
                    findings.append(Finding(where, "email", int(emails), mask(email, "email")))
                if phones:
                    findings.append(Finding(where, "phone", int(phones), mask(phone, "phone")))
    return findings


def _table_sql(index: int, key: tuple[str, str], names: list[str]) -> str:
    """One row: the table's position and, per column, [emails, a sample, phones, a sample]."""
    email = _sql_string(EMAIL_PATTERN)
    phone = _sql_string(PHONE_PATTERN)
    is_email, is_phone = _email_sql("x"), _phone_sql("x")
    inner, outer = [], []
    for i, name in enumerate(names):
        text = f"cast({_ident(name)} as varchar)"
        inner.append(
            f"list_filter(regexp_extract_all({text}, {email}, 1), lambda x: {is_email})[1] as e{i}"
        )
        inner.append(
            f"list_filter(regexp_extract_all({text}, {phone}, 1), lambda x: {is_phone})[1] as p{i}"
        )
        outer.append(
            f"(count_if(e{i} is not null), max(e{i}), count_if(p{i} is not null), max(p{i}))"
        )
    schema, table = key
    return (
        f"(select {index}, [{', '.join(outer)}] from "
        f"(select {', '.join(inner)} from {_ident(schema)}.{_ident(table)}))"
    )


def scan_files(folder: Path) -> list[Finding]:
    """Findings in the text files, workbooks and decks under `folder` (recursively)."""
    if not folder.is_dir():
        return []
    findings: list[Finding] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        suffix = path.suffix.lower()
        try:
            if suffix in TEXT_SUFFIXES:
                text = path.read_text(encoding="utf-8", errors="replace")
                findings += _findings(name, _matches([text]))
            elif suffix in ZIP_SUFFIXES:
                findings += _scan_zip(name, path.read_bytes(), 0)
        except _FILE_ERRORS as exc:
            logger.warning("privacy scan: cannot read `%s` (%s)", path, exc)
            findings.append(_unreadable(name, str(exc) or type(exc).__name__, _FILE_FIX))
    return findings


def _unreadable(where: str, why: str, fix: str) -> Finding:
    return Finding(where, "unreadable", 0, f"cannot be scanned ({why}): {fix}")


def _scan_zip(name: str, data: bytes, depth: int) -> list[Finding]:
    findings: list[Finding] = []
    with zipfile.ZipFile(BytesIO(data)) as archive:
        members = {m: archive.read(m) for m in archive.namelist() if not m.endswith("/")}
    sheets = _sheet_names(members) if name.lower().endswith((".xlsx", ".xlsm")) else {}
    shared = _shared_string_sheets(members, sheets)
    for member, content in members.items():
        suffix = PurePosixPath(member).suffix.lower()
        if suffix in ZIP_SUFFIXES and depth < _MAX_NESTING:
            try:
                findings += _scan_zip(f"{name}:{member}", content, depth + 1)
            except _FILE_ERRORS as exc:
                why = str(exc) or type(exc).__name__
                findings.append(_unreadable(f"{name}:{member}", why, _FILE_FIX))
            continue
        if suffix not in (".xml", ".rels") and suffix not in TEXT_SUFFIXES:
            continue
        text = content.decode("utf-8", errors="replace")
        if member == "xl/sharedStrings.xml" and shared is not None:
            for sheet, found in shared(text).items():
                findings += _findings(f"{name}:{sheet}", found)
            continue
        xml = suffix in (".xml", ".rels")
        pieces = [html.unescape(t) for t in _XML_TEXT.findall(text)] if xml else [text]
        part = sheets.get(member) or _part_name(member)
        findings += _findings(f"{name}:{part}", _matches(pieces))
    return findings


def _part_name(member: str) -> str:
    match = re.fullmatch(r"ppt/slides/(slide[0-9]+)\.xml", member)
    return match.group(1) if match else member


def _sheet_names(members: dict[str, bytes]) -> dict[str, str]:
    """Worksheet member (`xl/worksheets/sheet1.xml`) to its sheet name."""
    workbook = members.get("xl/workbook.xml", b"").decode("utf-8", errors="replace")
    rels = members.get("xl/_rels/workbook.xml.rels", b"").decode("utf-8", errors="replace")
    targets = {}
    for element in _REL.findall(rels):
        attributes = dict(_ATTRIBUTE.findall(element))
        targets[attributes.get("Id", "")] = attributes.get("Target", "").lstrip("/")
    out = {}
    for element in _SHEET.findall(workbook):
        attributes = dict(_ATTRIBUTE.findall(element))
        target = targets.get(attributes.get("r:id", ""), "")
        member = target if target.startswith("xl/") else f"xl/{target}"
        out[member] = html.unescape(attributes.get("name", ""))
    return out


def _shared_string_sheets(
    members: dict[str, bytes], sheets: dict[str, str]
) -> _SharedStrings | None:
    if not sheets or "xl/sharedStrings.xml" not in members:
        return None
    return _SharedStrings(members, sheets)


class _SharedStrings:
    """Attribute matches in a workbook's shared strings to the sheets that use them."""

    def __init__(self, members: dict[str, bytes], sheets: dict[str, str]) -> None:
        self._members = members
        self._sheets = sheets

    def __call__(self, text: str) -> dict[str, Counter[tuple[LeakKind, str]]]:
        hits: dict[int, Counter[tuple[LeakKind, str]]] = {}
        for index, item in enumerate(_SI.findall(text)):
            found = _matches(html.unescape(t) for t in _XML_TEXT.findall(f">{item}<"))
            if found:
                hits[index] = found
        out: dict[str, Counter[tuple[LeakKind, str]]] = {}
        used: set[int] = set()
        for member, sheet in self._sheets.items():
            xml = self._members.get(member, b"").decode("utf-8", errors="replace")
            for ref in map(int, _SHARED_CELL.findall(xml)):
                if ref in hits:
                    out.setdefault(sheet, Counter()).update(hits[ref])
                    used.add(ref)
        unused: Counter[tuple[LeakKind, str]] = Counter()
        for index in hits.keys() - used:
            unused.update(hits[index])
        if unused:
            out["sharedStrings"] = unused
        return out


def is_email(candidate: str) -> bool:
    """Whether a match of `EMAIL_PATTERN` is an address (its TLD is no file extension).

    >>> is_email("jane@example.com"), is_email("logo@2x.png")
    (True, False)
    """
    return candidate.rpartition(".")[2].lower() not in NOT_TLDS


def is_phone(candidate: str) -> bool:
    """Whether a match of `PHONE_PATTERN` is a phone number (digit count, not a date).

    >>> is_phone("+44 7911 123456"), is_phone("05 12 2025"), is_phone("06 08 10 12")
    (True, False, False)
    """
    low, high = PHONE_DIGITS.get(candidate[:1], PHONE_DIGITS[""])
    digits = sum(c.isdigit() for c in candidate)
    return low <= digits <= high and not _DATE_LIKE.match(candidate)


def redact_contacts(text: str | None) -> str | None:
    """Free text with every email address and phone number the scanner would flag replaced by
    `[email removed]` / `[phone removed]`: for text customers type, such as a survey's "other"
    answer, which must not carry their contact details into the warehouse.

    >>> redact_contacts("ask jane@example.com or call +44 7911 123456, thanks")
    'ask [email removed] or call [phone removed], thanks'
    >>> redact_contacts("a podcast in 2025")
    'a podcast in 2025'
    """
    if not text:
        return text
    out = text
    if "@" in out or "%40" in out:
        for found in set(_EMAIL.findall(out)):
            if is_email(found):
                out = out.replace(found, "[email removed]")
    for found in set(_PHONE.findall(out)):
        if is_phone(found):
            out = out.replace(found, "[phone removed]")
    return out


def _email_sql(x: str) -> str:
    """`is_email` in SQL."""
    extensions = ", ".join(_sql_string(e) for e in sorted(NOT_TLDS))
    return f"not list_contains([{extensions}], lower(regexp_extract({x}, '[.]([^.]*)$', 1)))"


def _phone_sql(x: str) -> str:
    """`is_phone` in SQL."""
    digits = f"length(regexp_replace({x}, '[^0-9]', '', 'g'))"
    low, high = PHONE_DIGITS[""]
    cases = " ".join(
        f"when {_sql_string(first)} then {digits} between {lo} and {hi}"
        for first, (lo, hi) in PHONE_DIGITS.items()
        if first
    )
    return (
        f"(case left({x}, 1) {cases} else {digits} between {low} and {high} end) "
        f"and not regexp_matches({x}, {_sql_string(DATE_LIKE_PATTERN)})"
    )


def _matches(texts: Iterable[str]) -> Counter[tuple[LeakKind, str]]:
    found: Counter[tuple[LeakKind, str]] = Counter()
    for text in texts:
        if "@" in text or "%40" in text:
            found.update(("email", m) for m in _EMAIL.findall(text) if is_email(m))
        found.update(("phone", m) for m in _PHONE.findall(text) if is_phone(m))
    return found


def _findings(where: str, found: Counter[tuple[LeakKind, str]]) -> Iterator[Finding]:
    for kind in ("email", "phone"):
        values = [(value, n) for (k, value), n in found.items() if k == kind]
        if values:
            total = sum(n for _, n in values)
            yield Finding(where, kind, total, mask(values[0][0], kind))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
