"""Every check `martlake check` and the `quality` step run, by name, in this order."""

from __future__ import annotations

from martlake.config import FreshnessSettings
from martlake.quality import coverage, drops, invalid, inventory, keys, layers, schema, zeros
from martlake.quality._context import Check, CheckContext
from martlake.quality._results import CheckResult
from martlake.quality._tables import skipped
from martlake.quality.freshness import freshness_checks


def _freshness(ctx: CheckContext) -> list[CheckResult]:
    base = ctx.settings.freshness
    per_table = {
        name: FreshnessSettings(
            warn_after_hours=t.freshness_warn_after_hours or base.warn_after_hours,
            critical_after_hours=t.freshness_critical_after_hours or base.critical_after_hours,
        )
        for name, t in ctx.settings.tables.items()
    }
    results = freshness_checks(ctx.warehouse, ctx.expected_raw, base, ctx.now, per_table=per_table)
    return [
        r if ctx.settings.table(r.table).enabled else skipped(ctx, r.check, r.table)
        for r in results
    ]


CHECKS: dict[str, Check] = {
    "freshness": _freshness,
    "inventory": inventory.check,
    "schema_drift": schema.check,
    "duplicate_keys": keys.duplicates,
    "null_rates": keys.null_rates,
    "invalid_rows": invalid.check,
    "layer_reconciliation": layers.check,
    "suspicious_zeros": zeros.check,
    "metric_drops": drops.check,
    "attribution_coverage": coverage.check,
}
