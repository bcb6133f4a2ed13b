"""Every error martlake raises on purpose.

    MartlakeError                 base; `exit_code` is what the CLI exits with
    ├── ConfigError               bad or missing setting (exit 2)
    ├── SourceError               a source could not be read (exit 2)
    │   ├── AuthError             token rejected or permission missing (never retried)
    │   ├── RateLimitError        throttled; retryable
    │   └── SourceContractError   the API answered something we cannot read
    ├── WarehouseError            the warehouse refused a read or write (exit 2)
    ├── LockError                 another run holds the project lock (exit 2)
    ├── TransformError            dbt could not run at all (exit 2)
    ├── CheckFailedError          the run finished but a model or CRITICAL check failed (exit 1)
    ├── ReportError               an output could not be written (exit 2)
    ├── AlertError                an alert channel refused or did not answer (exit 2)
    └── InternalError             a bug in martlake (exit 2, with a traceback)

A message says what failed, shows the offending value in backticks, says where it came from and
ends with the next step.
"""

from __future__ import annotations


class MartlakeError(Exception):
    """Base of every martlake error."""

    exit_code: int = 2
    retryable: bool = False


class ConfigError(MartlakeError):
    """A setting is unknown, has the wrong type, or is missing."""


class SourceError(MartlakeError):
    """A source could not be read."""

    retryable = True


class AuthError(SourceError):
    """The source rejected the credentials or lacks a permission."""

    retryable = False


class RateLimitError(SourceError):
    """The source throttled us; `retry_after` is in seconds when the source said so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SourceContractError(SourceError):
    """The source answered in a shape martlake cannot read."""

    retryable = False


class WarehouseError(MartlakeError):
    """The warehouse refused a read or a write."""


class LockError(MartlakeError):
    """Another run holds the project's lock."""


class TransformError(MartlakeError):
    """dbt could not run."""


class CheckFailedError(MartlakeError):
    """The run finished, but a model or a CRITICAL check failed."""

    exit_code = 1


class ReportError(MartlakeError):
    """An output file could not be written."""


class AlertError(MartlakeError):
    """An alert channel (Slack webhook, SMTP server) refused a message or did not answer."""


class InternalError(MartlakeError):
    """A bug in martlake: please report it with the traceback."""
