"""Data-quality checks whose results are kept as history in the warehouse."""

from martlake.quality._context import (
    BROKEN_TABLE,
    Check,
    CheckContext,
    MetricPoint,
    run_checks,
    run_quality,
)
from martlake.quality._results import CheckResult, Severity, record_results, worst
from martlake.quality.freshness import freshness_checks, freshness_severity

__all__ = [
    "BROKEN_TABLE",
    "Check",
    "CheckContext",
    "CheckResult",
    "MetricPoint",
    "Severity",
    "freshness_checks",
    "freshness_severity",
    "record_results",
    "run_checks",
    "run_quality",
    "worst",
]
