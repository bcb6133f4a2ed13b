"""Model the raw zone with the dbt project shipped in the package."""

from martlake.transform.runner import PROJECT_DIR, DbtResult, NodeResult, run_dbt

__all__ = ["PROJECT_DIR", "DbtResult", "NodeResult", "run_dbt"]
