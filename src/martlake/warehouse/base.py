"""What martlake needs from a warehouse engine."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    """Engine differences, as data rather than `if engine == ...` branches.

    Attributes:
        single_writer: Only one process may write at a time (close our connection before dlt
            or dbt write).
        dlt_destination: Name of the dlt destination.
        dbt_adapter: Name of the dbt adapter.
    """

    single_writer: bool
    dlt_destination: str
    dbt_adapter: str
