"""Data-quality checks whose results are kept as history in the warehouse."""

from martlake.quality._results import CheckResult, Severity, record_results, worst
from martlake.quality.freshness import freshness_checks, freshness_severity

__all__ = [
    "CheckResult",
    "Severity",
    "freshness_checks",
    "freshness_severity",
    "record_results",
    "worst",
]
