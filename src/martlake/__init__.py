"""martlake: a shop's marketing and sales data, ingested, modelled, checked and published.

>>> import martlake
>>> project = martlake.load_project("demo")            # doctest: +SKIP
>>> result = martlake.run_pipeline(project)            # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from martlake.config import Project, Settings, load_project
from martlake.errors import (
    AlertError,
    AuthError,
    CheckFailedError,
    ConfigError,
    InternalError,
    LockError,
    MartlakeError,
    RateLimitError,
    ReportError,
    SourceContractError,
    SourceError,
    TransformError,
    WarehouseError,
)
from martlake.examples import create_project
from martlake.pipeline import RunOptions, RunResult, run_pipeline
from martlake.quality import CheckResult, Severity

try:
    __version__ = _version("martlake")
except _PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "AlertError",
    "AuthError",
    "CheckFailedError",
    "CheckResult",
    "ConfigError",
    "InternalError",
    "LockError",
    "MartlakeError",
    "Project",
    "RateLimitError",
    "ReportError",
    "RunOptions",
    "RunResult",
    "Settings",
    "Severity",
    "SourceContractError",
    "SourceError",
    "TransformError",
    "WarehouseError",
    "create_project",
    "load_project",
    "run_pipeline",
]
