"""`csv/<model>.csv`: plain exports of the reporting models."""

from __future__ import annotations

import contextlib
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
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create `{folder}`: {exc.strerror}") from None
    written = []
    for name, table in tables.items():
        path = folder / f"{name}.csv"
        tmp = path.with_suffix(".csv.tmp")
        try:
            pacsv.write_csv(table, str(tmp))
            tmp.replace(path)
        except (OSError, pa.ArrowException) as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise ReportError(f"cannot write `{path}`: {exc}") from None
        written.append(path)
    return written
