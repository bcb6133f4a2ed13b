"""run_dbt: failures are results, dbt that cannot run is a one-line TransformError."""

from __future__ import annotations

import gc
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from martlake.errors import TransformError
from martlake.transform import PROJECT_DIR, run_dbt
from tests.integration.transform.helpers import SHIPPED_MODELS, Build, build, load_raw_zone

USER_MODELS = Path(__file__).parent / "user_models"
ALL_RAW_TABLES = {
    "raw_shopify.orders",
    "raw_shopify.order_lines",
    "raw_shopify.refund_lines",
    "raw_meta_ads.insights",
    "raw_google_ads.campaign_stats",
    "raw_tiktok_ads.ad_stats",
}


@pytest.fixture(scope="module")
def empty_with_user_models(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return build(
        tmp_path_factory.mktemp("transform_runner"),
        omit=ALL_RAW_TABLES,
        extra_model_paths=[USER_MODELS],
    )


def test_failed_model_and_test_are_reported_not_raised(empty_with_user_models: Build) -> None:
    result = empty_with_user_models.result
    assert not result.success
    failed = {(node.name, node.resource_type, node.status) for node in result.failed}
    assert failed == {
        ("user_broken", "model", "error"),
        ("not_null_user_null_id_id", "test", "fail"),
    }
    broken = next(node for node in result.failed if node.name == "user_broken")
    assert broken.message is not None and "no_such_column" in broken.message
    assert broken.unique_id == "model.martlake.user_broken"


def test_shipped_marts_build_empty_without_any_raw_table(empty_with_user_models: Build) -> None:
    shipped = [node for node in empty_with_user_models.result.models if node.name[:5] != "user_"]
    assert {n.name for n in shipped} == SHIPPED_MODELS
    assert {node.status for node in shipped} == {"success"}
    for mart in (
        "shopify_unified",
        "facebook_unified",
        "google_ads_unified",
        "tiktok_unified",
        "marketing_unified",
        "shopify_daily_metrics",
    ):
        assert empty_with_user_models.rows(f"select count(*) from marts.{mart}") == [(0,)]
    shipped_tests = [n for n in empty_with_user_models.result.tests if "user_" not in n.name]
    assert {node.status for node in shipped_tests} == {"pass"}


def test_user_models_build_next_to_the_shipped_ones(empty_with_user_models: Build) -> None:
    statuses = {node.name: node.status for node in empty_with_user_models.result.models}
    assert statuses["user_daily_spend"] == "success"
    assert empty_with_user_models.rows("select count(*) from main.user_daily_spend") == [(0,)]


def test_user_models_leave_their_folder_and_the_package_untouched(
    empty_with_user_models: Build,
) -> None:
    assert empty_with_user_models.package_after == empty_with_user_models.package_before
    assert sorted(path.name for path in USER_MODELS.iterdir()) == [
        "_user_models.yml",
        "user_broken.sql",
        "user_daily_spend.sql",
        "user_null_id.sql",
    ]
    compiled = empty_with_user_models.state_dir / "target" / "compiled" / "martlake"
    assert (compiled / "user_models_0" / "user_daily_spend.sql").is_file()
    assert empty_with_user_models.output.out == ""


def test_missing_extra_model_path_raises_transform_error(tmp_path: Path) -> None:
    with pytest.raises(TransformError, match="is not a directory"):
        run_dbt(
            "parse",
            database=tmp_path / "w.duckdb",
            state_dir=tmp_path / "state",
            extra_model_paths=[tmp_path / "nowhere"],
        )


def _broken_jinja(project: Path) -> None:
    (project / "models" / "marts" / "broken_model.sql").write_text("select {{ ref('x' }}\n")


def _broken_yaml(project: Path) -> None:
    (project / "models" / "marts" / "broken.yml").write_text("version: 2\nmodels: [name: :\n")


def _other_profile(project: Path) -> None:
    config = project / "dbt_project.yml"
    config.write_text(config.read_text().replace("profile: martlake", "profile: elsewhere"))


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        pytest.param(_broken_jinja, "broken_model", id="model-with-bad-jinja"),
        pytest.param(_broken_yaml, "broken.yml", id="unreadable-yml"),
        pytest.param(_other_profile, "profile", id="profile-not-found"),
    ],
)
def test_project_dbt_cannot_load_raises_one_line_transform_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    breakage: object,
    expected: str,
) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(PROJECT_DIR, project)
    breakage(project)  # type: ignore[operator]
    monkeypatch.setattr("martlake.transform.runner.PROJECT_DIR", project)

    with pytest.raises(TransformError) as raised:
        run_dbt("parse", database=tmp_path / "w.duckdb", state_dir=tmp_path / "state")

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("dbt parse could not run")
    assert expected in message
    assert capfd.readouterr().out == ""


def test_warehouse_held_by_another_process_raises_transform_error(tmp_path: Path) -> None:
    database = tmp_path / "w.duckdb"
    load_raw_zone(database)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(database)!r}); print('held', flush=True);"
            " sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(TransformError, match="no other process holds it") as raised:
            run_dbt("run", database=database, state_dir=tmp_path / "state")
    finally:
        holder.communicate("")
    assert "\n" not in str(raised.value)
    assert str(database) in str(raised.value)


def test_unwritable_state_dir_raises_transform_error(tmp_path: Path) -> None:
    state_file = tmp_path / "state"
    state_file.write_text("not a directory")
    with pytest.raises(TransformError, match="cannot write dbt's state"):
        run_dbt("parse", database=tmp_path / "w.duckdb", state_dir=state_file)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"select": ["shopify_unified"]}, id="select"),
        pytest.param({"full_refresh": True}, id="full-refresh"),
    ],
)
def test_options_that_do_not_apply_to_parse_are_refused(
    tmp_path: Path, options: dict[str, object]
) -> None:
    with pytest.raises(ValueError, match="not apply to dbt `parse`"):
        run_dbt("parse", database=tmp_path / "w.duckdb", state_dir=tmp_path, **options)  # type: ignore[arg-type]


def test_the_garbage_collector_pauses_while_dbt_runs_and_only_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dbt.cli.main import dbtRunner

    invoke = dbtRunner.invoke
    seen: list[bool] = []

    def spying(self: Any, args: list[str], **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return invoke(self, args, **kwargs)

    monkeypatch.setattr(dbtRunner, "invoke", spying)
    run_dbt("parse", database=tmp_path / "w.duckdb", state_dir=tmp_path / "state")
    assert seen == [False] and gc.isenabled()

    gc.disable()  # a caller that turned it off keeps it off
    try:
        run_dbt("parse", database=tmp_path / "w.duckdb", state_dir=tmp_path / "state")
        assert seen == [False, False] and not gc.isenabled()
    finally:
        gc.enable()
