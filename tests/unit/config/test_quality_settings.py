from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from martlake.config import QualitySettings, TableQualitySettings, load_project
from martlake.errors import ConfigError


def test_table_sections_default_to_the_quality_section() -> None:
    settings = QualitySettings.model_validate(
        {"tables": {"marts.campaign_daily": {"duplicate_keys": "WARN", "key": ["date"]}}}
    )
    assert settings.table("marts.campaign_daily").duplicate_keys == "WARN"
    assert settings.table("marts.campaign_daily").key == ["date"]
    assert settings.table("marts.other") == TableQualitySettings()
    assert settings.duplicate_keys == "CRITICAL"
    assert settings.null_rate_increase == 0.2


@pytest.mark.parametrize("name", ["campaign_daily", "marts.campaign daily", "a.b.c"])
def test_a_table_name_must_be_schema_dot_table(name: str) -> None:
    with pytest.raises(ValidationError, match="is not `schema.table`"):
        QualitySettings.model_validate({"tables": {name: {}}})


def test_unknown_keys_and_bad_severities_are_rejected() -> None:
    with pytest.raises(ValidationError):
        QualitySettings.model_validate({"tables": {"marts.x": {"duplicate_key": "WARN"}}})
    with pytest.raises(ValidationError):
        QualitySettings.model_validate({"duplicate_keys": "LOUD"})


def load_toml(tmp_path: Path, toml: str) -> QualitySettings:
    (tmp_path / "martlake.toml").write_text(toml)
    return load_project(tmp_path, environ={}).settings.quality


@pytest.mark.parametrize(
    ("toml", "culprit"),
    [
        (
            '[quality.tables."raw_shopify.orders"]\nfreshness_warn_after_hours = 72\n',
            '[quality.tables."raw_shopify.orders"] freshness warn after 72 h is not below '
            "critical after 48 h",
        ),
        (
            '[quality.tables."raw_meta_ads.insights"]\nfreshness_critical_after_hours = 12\n',
            '[quality.tables."raw_meta_ads.insights"] freshness warn after 24 h is not below '
            "critical after 12 h",
        ),
        (
            "[quality.freshness]\nwarn_after_hours = 48\ncritical_after_hours = 48\n",
            "[quality.freshness] warn_after_hours = 48 is not below critical_after_hours = 48",
        ),
    ],
    ids=["table-warn-above-base-critical", "table-critical-below-base-warn", "base-pair"],
)
def test_a_freshness_warn_limit_not_below_its_critical_one_is_rejected_at_load(
    tmp_path: Path, toml: str, culprit: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_toml(tmp_path, toml)
    assert culprit in str(err.value)
    assert "\n" not in str(err.value)


def test_a_table_freshness_pair_is_checked_after_merging_with_the_base(tmp_path: Path) -> None:
    quality = load_toml(
        tmp_path,
        "[quality.freshness]\ncritical_after_hours = 96\n\n"
        '[quality.tables."raw_shopify.orders"]\nfreshness_warn_after_hours = 72\n',
    )
    assert quality.table("raw_shopify.orders").freshness_warn_after_hours == 72
