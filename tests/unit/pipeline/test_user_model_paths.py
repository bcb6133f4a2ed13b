"""`[transform] model_paths`: the project's own dbt model folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from martlake.config import Project, Settings
from martlake.errors import ConfigError
from martlake.pipeline._steps import user_model_paths


def test_default_models_folder_is_used_only_when_it_exists(tmp_path: Path) -> None:
    project = Project(root=tmp_path, settings=Settings())
    assert user_model_paths(project) == []
    (tmp_path / "models").mkdir()
    assert user_model_paths(project) == [tmp_path / "models"]


def test_configured_folders_must_exist(tmp_path: Path) -> None:
    (tmp_path / "dbt" / "mine").mkdir(parents=True)
    settings = Settings.model_validate({"transform": {"model_paths": ["dbt/mine"]}})
    project = Project(root=tmp_path, settings=settings)
    assert user_model_paths(project) == [tmp_path / "dbt" / "mine"]
    missing = Settings.model_validate({"transform": {"model_paths": ["dbt/mine", "gone"]}})
    with pytest.raises(ConfigError, match=r"`\[transform\] model_paths` names `.*gone`"):
        user_model_paths(Project(root=tmp_path, settings=missing))
