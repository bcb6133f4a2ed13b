"""The leak scan that ends a run: plaintext PII anywhere is a CRITICAL `privacy_leak`."""

from __future__ import annotations

from pathlib import Path

from martlake.config import Project
from martlake.privacy import scan
from martlake.quality import CheckResult, Severity, record_results
from martlake.warehouse import DuckDBWarehouse

LEAK_CHECK = "privacy_leak"
SCANNED = "warehouse and outputs"


def leak_checks(
    project: Project, warehouse: DuckDBWarehouse, run_id: str, output_dir: Path
) -> list[CheckResult]:
    """Scan the warehouse and `output_dir`, append the results to `martlake.dq_check_result`.

    Returns:
        One CRITICAL result per place holding plaintext PII, one ERROR result per table or file
        the scan could not read (never reported clean), or one OK result.
    """
    findings = scan(project, output_dir)
    results = [
        CheckResult(
            LEAK_CHECK,
            f.where,
            Severity.ERROR,
            f"`{f.where}` was not checked for plaintext PII: it {f.sample}",
        )
        if f.kind == "unreadable"
        else CheckResult(
            LEAK_CHECK,
            f.where,
            Severity.CRITICAL,
            f"plaintext {f.kind} in `{f.where}` ({f.count:,}, e.g. `{f.sample}`): hash or drop "
            "the column with [privacy.columns] and rebuild; `martlake privacy scan` lists all",
            observed=float(f.count),
            critical_threshold=0.0,
        )
        for f in findings
    ] or [
        CheckResult(
            LEAK_CHECK,
            SCANNED,
            Severity.OK,
            "no plaintext email or phone number",
            observed=0.0,
            critical_threshold=0.0,
        )
    ]
    record_results(warehouse, run_id, results)
    return results
