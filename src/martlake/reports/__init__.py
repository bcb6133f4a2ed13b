"""Files a run publishes: the Excel workbook, CSV exports and `run.json`."""

from martlake.reports.csv_export import write_csvs
from martlake.reports.workbook import write_workbook

__all__ = ["write_csvs", "write_workbook"]
