"""`[sources.fairing]` and `[sandbox] survey_rate`: defaults, the token, the sandbox wiring."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from martlake.config import load_project, redact, require_secrets
from martlake.errors import ConfigError
from martlake.pipeline import simulator_config
from martlake.pipeline._sandbox import source_settings
from tests.unit.config.test_loader import make_project

SHOPIFY_TOKEN = '[sources.shopify]\naccess_token = "shpat_x"\n'


def test_an_empty_section_connects_fairing_with_the_defaults(tmp_path: Path) -> None:
    root = make_project(tmp_path, "[sources.fairing]\n")
    fairing = load_project(root, environ={}).settings.sources.fairing
    assert fairing is not None
    assert (fairing.lookback_days, fairing.timeout_seconds) == (7, 60.0)
    assert (fairing.base_url, fairing.start_date, fairing.api_token) == (None, None, None)


def test_settings_from_the_file_and_the_token_from_secrets(tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        '[sources.fairing]\nstart_date = "2024-06-01"\nlookback_days = 3\n'
        'base_url = "http://proxy.local"\ntimeout_seconds = 5\n',
        secrets=SHOPIFY_TOKEN + '[sources.fairing]\napi_token = "fair-secret-123"\n',
    )
    fairing = load_project(root, environ={}).settings.sources.fairing
    assert fairing is not None and fairing.api_token is not None
    assert fairing.api_token.get_secret_value() == "fair-secret-123"
    assert (fairing.start_date, fairing.lookback_days) == (date(2024, 6, 1), 3)
    assert (fairing.base_url, fairing.timeout_seconds) == ("http://proxy.local", 5.0)
    assert "fair-secret-123" not in redact("Authorization: fair-secret-123")
    assert "fair-secret-123" not in repr(fairing)


def test_the_env_var_overrides_the_secrets_file(tmp_path: Path) -> None:
    root = make_project(
        tmp_path, "[sources.fairing]\n", secrets='[sources.fairing]\napi_token = "file"\n'
    )
    env = {"MARTLAKE__SOURCES__FAIRING__API_TOKEN": "env-token"}
    fairing = load_project(root, environ=env).settings.sources.fairing
    assert fairing is not None and fairing.api_token is not None
    assert fairing.api_token.get_secret_value() == "env-token"


def test_a_missing_token_is_one_line_naming_the_secrets_file_and_env_var(tmp_path: Path) -> None:
    root = make_project(tmp_path, "[sources.fairing]\n", secrets=SHOPIFY_TOKEN)
    with pytest.raises(ConfigError) as err:
        require_secrets(load_project(root, environ={}))
    assert str(err.value) == (
        "`sources.fairing.api_token` is not set: add it under [sources.fairing] in "
        ".martlake/secrets.toml or set MARTLAKE__SOURCES__FAIRING__API_TOKEN"
    )


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        pytest.param(
            "[sources.fairing]\nlookback_days = -1\n",
            "sources.fairing.lookback_days",
            id="negative-lookback",
        ),
        pytest.param(
            "[sources.fairing]\npage_size = 50\n", "sources.fairing.page_size", id="unknown-key"
        ),
        pytest.param("[sandbox]\nsurvey_rate = 1.5\n", "sandbox.survey_rate", id="rate-over-1"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, extra: str, key: str) -> None:
    with pytest.raises(ConfigError, match=f"`{key}`"):
        load_project(make_project(tmp_path, extra), environ={})


def test_a_bad_token_value_is_never_echoed(tmp_path: Path) -> None:
    root = make_project(tmp_path, "[sources.fairing]\napi_token = 12345678\n")
    with pytest.raises(ConfigError) as err:
        load_project(root, environ={})
    assert "sources.fairing.api_token" in str(err.value) and "12345678" not in str(err.value)


def test_the_sandbox_simulates_surveys_only_with_a_fairing_source(tmp_path: Path) -> None:
    box = '[sandbox]\nenabled = true\nstart_date = "2025-03-01"\nend_date = "2025-03-03"\n'
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    without = load_project(make_project(tmp_path / "a", box), environ={})
    assert without.settings.sandbox.survey_rate == 0.25
    assert simulator_config(without).survey_rate == 0.0
    with_fairing = load_project(
        make_project(tmp_path / "b", box + "survey_rate = 0.4\n[sources.fairing]\n"), environ={}
    )
    assert simulator_config(with_fairing).survey_rate == 0.4


def test_sandbox_runs_point_fairing_at_its_emulator(tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        '[sandbox]\nenabled = true\nstart_date = "2025-03-01"\nend_date = "2025-03-02"\n'
        "orders_per_day = 5\n[sources.fairing]\n",
    )
    with source_settings(load_project(root, environ={})) as settings:
        url = settings["fairing"].base_url
        assert url.startswith("http://127.0.0.1:") and url.endswith("/fairing")
