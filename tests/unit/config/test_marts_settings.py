"""`[marts]`: the premium-product z-score threshold, validated and passed to dbt."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from martlake.config import Project, load_project
from martlake.errors import ConfigError
from martlake.pipeline._steps import dbt_vars
from tests.conftest import FIXTURES


def load(tmp_path: Path, extra: str) -> Project:
    shutil.copy(FIXTURES / "config" / "minimal.toml", tmp_path / "martlake.toml")
    with (tmp_path / "martlake.toml").open("a") as fh:
        fh.write("\n" + extra)
    return load_project(tmp_path, environ={})


def test_premium_zscore_defaults_to_two_and_reaches_the_dbt_vars(tmp_path: Path) -> None:
    assert dbt_vars(load(tmp_path, ""))["premium_zscore"] == 2.0


def test_a_configured_premium_zscore_reaches_the_dbt_vars(tmp_path: Path) -> None:
    assert dbt_vars(load(tmp_path, "[marts]\npremium_zscore = 1.5\n"))["premium_zscore"] == 1.5


@pytest.mark.parametrize("value", ['"high"', "nan", "inf"])
def test_a_premium_zscore_that_is_not_a_finite_number_is_a_one_line_error(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f"[marts]\npremium_zscore = {value}\n")
    message = str(caught.value)
    assert "marts.premium_zscore" in message and "\n" not in message


def test_an_unknown_marts_key_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="premium_z_score"):
        load(tmp_path, "[marts]\npremium_z_score = 1.5\n")
