from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from martlake.cli.app import app, main
from martlake.examples import EXAMPLES

README = (Path(__file__).resolve().parents[3] / "README.md").read_text()


def commands() -> dict[str, Any]:
    root: Any = typer.main.get_command(app)
    found: dict[str, Any] = {}
    for name, cmd in root.commands.items():
        if hasattr(cmd, "commands"):
            found.update({f"{name} {sub}": c for sub, c in cmd.commands.items()})
        else:
            found[name] = cmd
    return found


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_has_help_with_an_example_and_is_documented(name: str) -> None:
    cmd = commands()[name]
    assert cmd.help and "Example: martlake " + name in cmd.help
    assert f"### `martlake {name}" in README


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_option_has_a_martlake_env_var(name: str) -> None:
    for param in commands()[name].params:
        if param.param_type_name == "option" and param.name not in {"help", "force"}:
            assert param.envvar, (name, param.name)
            assert param.envvar.startswith("MARTLAKE_"), (name, param.envvar)


def test_init_writes_a_project_that_refuses_a_second_init(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "shop"
    assert main(["init", str(target), "--example", "dtc_brand"]) == 0
    assert (target / "martlake.toml").is_file()
    assert (target / ".martlake" / "secrets.toml").stat().st_mode & 0o077 == 0
    assert ".martlake/" in (target / ".gitignore").read_text()
    assert re.search(r'start_date = "\d{4}-\d{2}-\d{2}"', (target / "martlake.toml").read_text())
    assert main(["init", str(target), "--example", "dtc_brand"]) == 2
    assert "--force" in capsys.readouterr().err


def test_unknown_example_suggests_the_closest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path), "--example", "dtc_brnd"]) == 2
    assert "did you mean `dtc_brand`" in capsys.readouterr().err
    assert set(EXAMPLES) == {"blank", "dtc_brand"}


def test_blank_project_asks_for_its_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path)]) == 0
    assert main(["run", "-p", str(tmp_path)]) == 2
    assert "`sources.shopify.access_token` is not set" in capsys.readouterr().err


def test_unknown_step_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["init", str(tmp_path), "--example", "dtc_brand"])
    assert main(["run", "-p", str(tmp_path), "--only", "transfrom"]) == 2
    assert "did you mean `transform`" in capsys.readouterr().err


def test_status_before_any_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["init", str(tmp_path), "--example", "dtc_brand"])
    assert main(["status", "-p", str(tmp_path)]) == 0
    assert "No runs yet" in capsys.readouterr().out


def test_bad_option_value_exits_2() -> None:
    assert main(["run", "--start-date", "yesterday"]) == 2


def test_version() -> None:
    assert main(["--version"]) == 0


def test_init_force_keeps_existing_secrets_and_gitignore(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path), "--example", "dtc_brand"]) == 0
    secrets = tmp_path / ".martlake" / "secrets.toml"
    secrets.write_text('[sources.shopify]\naccess_token = "shpat_real"\n')
    (tmp_path / ".gitignore").write_text("mine\n")
    (tmp_path / "martlake.toml").write_text("# broken\n")
    assert main(["init", str(tmp_path), "--example", "dtc_brand", "--force"]) == 0
    assert "shpat_real" in secrets.read_text()
    assert (tmp_path / ".gitignore").read_text() == "mine\n"
    assert "[sandbox]" in (tmp_path / "martlake.toml").read_text()


def test_backfill_dates_in_the_wrong_order_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["init", str(tmp_path), "--example", "dtc_brand"])
    args = ["run", "-p", str(tmp_path), "--start-date", "2025-02-01", "--end-date", "2025-01-01"]
    assert main(args) == 2
    assert "swap them" in capsys.readouterr().err
