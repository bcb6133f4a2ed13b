"""`[quality.kpis]`, `[[quality.annotations]]` and the anomaly keys of `[quality]`."""

from __future__ import annotations

import inspect
import re
import tomllib
from datetime import date
from pathlib import Path

import pytest

from martlake.config import AnnotationSettings, KpiSettings, QualitySettings, load_project
from martlake.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "anomalies.md").read_text()
ANOMALY_KEYS = [
    "kpis",
    "annotations",
    "anomaly_max_days",
    "suspicious_zeros_min_spend",
    "suspicious_zeros_min_expected_orders",
    "attribution_coverage_warn",
    "attribution_coverage_critical",
    "attribution_coverage_days",
    "attribution_coverage_basis",
]


def project_with(tmp_path: Path, toml: str, **environ: str) -> QualitySettings:
    (tmp_path / "martlake.toml").write_text(toml)
    return load_project(tmp_path, environ=environ).settings.quality


def test_defaults_watch_orders_net_sales_and_spend_per_channel() -> None:
    kpis = QualitySettings().kpis
    assert sorted(kpis) == ["net_sales", "orders", "spend"]
    assert kpis["orders"].table == "marts.shopify_daily_metrics" and kpis["orders"].count
    assert kpis["spend"].dimension == "channel"
    assert {(k.warn, k.critical, k.direction) for k in kpis.values()} == {(0.5, 0.25, "drop")}
    assert QualitySettings().attribution_coverage_warn == 0.9


def test_a_kpi_section_changes_only_its_keys_and_new_ones_add_kpis(tmp_path: Path) -> None:
    quality = project_with(
        tmp_path,
        '[quality.kpis.orders]\nwarn = 0.6\n\n[quality.kpis.sessions]\ntable = "marts.web"\n',
        MARTLAKE__QUALITY__KPIS__NET_SALES__ENABLED="false",
    )
    assert quality.kpis["orders"].warn == 0.6
    assert quality.kpis["orders"].table == "marts.shopify_daily_metrics"
    assert quality.kpis["orders"].count
    assert not quality.kpis["net_sales"].enabled
    assert quality.kpis["spend"].dimension == "channel"
    assert quality.kpis["sessions"].table == "marts.web"


def test_annotations_load_from_martlake_toml(tmp_path: Path) -> None:
    quality = project_with(
        tmp_path,
        '[[quality.annotations]]\nstart = 2025-11-28\nend = 2025-12-01\nkind = "promo"\n\n'
        '[[quality.annotations]]\nstart = "2026-01-14"\nmetrics = ["orders"]\n',
    )
    promo, outage = quality.annotations
    assert (promo.start, promo.last, promo.kind) == (date(2025, 11, 28), date(2025, 12, 1), "promo")
    assert (outage.last, outage.metrics) == (date(2026, 1, 14), ["orders"])


@pytest.mark.parametrize(
    ("toml", "culprit"),
    [
        ("[quality.kpis.orders]\nwarn = 0.2\ncritical = 0.3\n", "0 < critical < warn < 1"),
        ('[quality.kpis.spend]\ndirection = "rise"\n', "1 < warn < critical"),
        (
            '[quality.kpis.sessions]\ntable = "web_sessions"\n',
            "`web_sessions` is not `schema.table`",
        ),
        ("[quality.kpis.sessions]\nwarn = 0.4\n", "table"),
        ("[[quality.annotations]]\nstart = 2025-02-02\nend = 2025-02-01\n", "before start"),
        ("[quality]\nattribution_coverage_warn = 1.5\n", "attribution_coverage_warn"),
    ],
    ids=[
        "critical-above-warn",
        "rise-below-one",
        "bare-table",
        "new-kpi-without-table",
        "end-before-start",
        "coverage-above-one",
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, toml: str, culprit: str) -> None:
    with pytest.raises(ConfigError) as err:
        project_with(tmp_path, toml)
    assert culprit in str(err.value)


def test_docs_list_every_key_and_their_examples_load() -> None:
    flat = [k for k in ANOMALY_KEYS if k not in {"kpis", "annotations"}]
    for key in [*KpiSettings.model_fields, *AnnotationSettings.model_fields, *flat]:
        assert f"`{key}`" in DOC, key
    assert "### `[quality.kpis.<metric>]`" in DOC
    assert "### `[[quality.annotations]]`" in DOC
    for key in ANOMALY_KEYS:
        assert key in inspect.getsource(QualitySettings), key
    readme = (ROOT / "README.md").read_text()
    assert "docs/anomalies.md" in readme
    examples = re.findall(r"```toml\n(.*?)```", DOC, re.S)
    examples += [b for b in re.findall(r"```toml\n(.*?)```", readme, re.S) if "kpis" in b]
    assert len(examples) >= 3
    for block in examples:
        QualitySettings.model_validate(tomllib.loads(block)["quality"])
