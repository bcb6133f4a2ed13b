"""run_dbt with user model folders: overrides replace shipped models by name, in their schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from martlake.errors import TransformError
from martlake.transform import PROJECT_DIR, run_dbt

SHIPPED_DAILY = PROJECT_DIR / "models" / "marts" / "shopify_daily_metrics.sql"


def parse(tmp_path: Path, *folders: Path) -> dict[str, dict[str, object]]:
    state = tmp_path / "state"
    result = run_dbt(
        "parse",
        database=tmp_path / "w.duckdb",
        state_dir=state,
        extra_model_paths=list(folders),
    )
    assert result.success
    manifest = json.loads((state / "target" / "manifest.json").read_text())
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }


def test_override_in_a_subfolder_keeps_the_shipped_schema_and_tests(tmp_path: Path) -> None:
    user = tmp_path / "models"
    (user / "finance").mkdir(parents=True)
    (user / "finance" / "shopify_daily_metrics.sql").write_text(SHIPPED_DAILY.read_text())
    (user / "finance" / "finance_extra.sql").write_text("select 1 as id\n")
    models = parse(tmp_path, user)
    override = models["shopify_daily_metrics"]
    assert override["original_file_path"] == "user_models_0/finance/shopify_daily_metrics.sql"
    assert override["schema"] == "marts"
    # Without a user .yml for it, the shipped description and column docs still apply.
    assert "zero-filled" in str(override["description"])
    assert models["finance_extra"]["schema"] == "main"
    assert models["shopify_unified"]["schema"] == "marts"
    state_project = tmp_path / "state" / "project"
    assert not (state_project / "models" / "marts" / "shopify_daily_metrics.sql").exists()
    assert (state_project / "models" / "marts" / "shopify_unified.sql").is_file()
    assert SHIPPED_DAILY.is_file()


def test_two_user_models_of_one_name_are_a_one_line_error(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        (folder / "my_model.sql").write_text("select 1 as id\n")
    with pytest.raises(TransformError, match="two user models are named `my_model`") as info:
        run_dbt(
            "parse",
            database=tmp_path / "w.duckdb",
            state_dir=tmp_path / "state",
            extra_model_paths=[first, second],
        )
    assert "\n" not in str(info.value)


def test_without_overrides_the_shipped_folders_are_linked_whole(tmp_path: Path) -> None:
    user = tmp_path / "models"
    user.mkdir()
    (user / "mine.sql").write_text("select 1 as id\n")
    models = parse(tmp_path, user)
    assert models["mine"]["schema"] == "main"
    linked = tmp_path / "state" / "project" / "models"
    assert linked.is_symlink() and linked.resolve() == (PROJECT_DIR / "models").resolve()
