"""`csv/<model>.csv`: plain exports of the reporting models."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from martlake.errors import ReportError


def write_csvs(folder: Path, tables: Mapping[str, pa.Table]) -> list[Path]:
    """Write one UTF-8 CSV with a header row per table.

    Raises:
        ReportError: A file cannot be written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in tables.items():
        path = folder / f"{name}.csv"
        try:
            pacsv.write_csv(table, str(path))
        except (OSError, pa.ArrowException) as exc:
            raise ReportError(f"cannot write `{path}`: {exc}") from None
        written.append(path)
    return written
