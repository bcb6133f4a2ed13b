"""The warehouse: the only code that talks to a database engine."""

from martlake.warehouse.base import Capabilities
from martlake.warehouse.duckdb import DuckDBWarehouse

__all__ = ["Capabilities", "DuckDBWarehouse"]
