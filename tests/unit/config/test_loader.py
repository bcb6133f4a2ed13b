from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from martlake.config import load_project, redact, require_secrets
from martlake.errors import ConfigError
from tests.conftest import FIXTURES


def make_project(tmp_path: Path, extra: str = "", secrets: str | None = None) -> Path:
    shutil.copy(FIXTURES / "config" / "minimal.toml", tmp_path / "martlake.toml")
    if extra:
        with (tmp_path / "martlake.toml").open("a") as fh:
            fh.write("\n" + extra)
    if secrets is not None:
        (tmp_path / ".martlake").mkdir()
        (tmp_path / ".martlake" / "secrets.toml").write_text(secrets)
    return tmp_path


def test_defaults_fill_what_the_file_leaves_out(tmp_path: Path) -> None:
    project = load_project(make_project(tmp_path), environ={})
    assert project.settings.sources.shopify is not None
    assert project.settings.sources.shopify.lookback_days == 7
    assert project.settings.quality.freshness.critical_after_hours == 48
    assert project.warehouse_path == tmp_path.resolve() / "warehouse.duckdb"


def test_precedence_is_flag_then_env_then_secrets_then_file(tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        "[sandbox]\nseed = 1\norders_per_day = 10\n",
        secrets='[sources.shopify]\naccess_token = "from-secrets"\n',
    )
    env = {"MARTLAKE__SANDBOX__SEED": "2", "MARTLAKE__SANDBOX__ORDERS_PER_DAY": "20"}
    project = load_project(root, environ=env, overrides={"sandbox.seed": 3})
    assert project.settings.sandbox.seed == 3
    assert project.settings.sandbox.orders_per_day == 20
    token = project.settings.sources.shopify.access_token  # type: ignore[union-attr]
    assert token is not None and token.get_secret_value() == "from-secrets"


def test_env_var_overrides_secret_file(tmp_path: Path) -> None:
    root = make_project(tmp_path, secrets='[sources.shopify]\naccess_token = "file"\n')
    env = {"MARTLAKE__SOURCES__SHOPIFY__ACCESS_TOKEN": "env-token"}
    shopify = load_project(root, environ=env).settings.sources.shopify
    assert shopify is not None and shopify.access_token is not None
    assert shopify.access_token.get_secret_value() == "env-token"


def test_unknown_key_names_key_file_and_suggestion(tmp_path: Path) -> None:
    root = make_project(tmp_path, "[sandbox]\norder_per_day = 5\n")
    with pytest.raises(ConfigError) as err:
        load_project(root, environ={})
    message = str(err.value)
    assert "`sandbox.order_per_day`" in message
    assert "martlake.toml" in message
    assert "did you mean `sandbox.orders_per_day`" in message
    assert "\n" not in message


def test_wrong_type_names_key_value_and_origin(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_project(root, environ={"MARTLAKE__SANDBOX__ORDERS_PER_DAY": "lots"})
    message = str(err.value)
    assert "`sandbox.orders_per_day`" in message and "'lots'" in message
    assert "MARTLAKE__SANDBOX__ORDERS_PER_DAY" in message


def test_many_problems_are_all_counted(tmp_path: Path) -> None:
    root = make_project(tmp_path, "[sandbox]\na = 1\nb = 2\nc = 3\nd = 4\ne = 5\n")
    with pytest.raises(ConfigError, match=r"and 2 more"):
        load_project(root, environ={})


def test_missing_required_key_says_where_to_add_it(tmp_path: Path) -> None:
    (tmp_path / "martlake.toml").write_text("[sources.meta_ads]\napi_version = 'v21.0'\n")
    with pytest.raises(ConfigError, match=r"`sources.meta_ads.account_ids` is missing"):
        load_project(tmp_path, environ={})


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "martlake.toml").write_text("[project\nname = 1\n")
    with pytest.raises(ConfigError, match=r"martlake.toml is not valid TOML"):
        load_project(tmp_path, environ={})


def test_missing_project_file_points_to_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"martlake init"):
        load_project(tmp_path, environ={})


def test_missing_secret_names_key_file_and_env_var(tmp_path: Path) -> None:
    project = load_project(make_project(tmp_path), environ={})
    with pytest.raises(ConfigError) as err:
        require_secrets(project)
    message = str(err.value)
    assert "`sources.shopify.access_token`" in message
    assert ".martlake/secrets.toml" in message
    assert "MARTLAKE__SOURCES__SHOPIFY__ACCESS_TOKEN" in message


def test_loaded_secrets_are_redacted_everywhere(tmp_path: Path) -> None:
    root = make_project(tmp_path, secrets='[sources.shopify]\naccess_token = "shpat_s3cr3t"\n')
    load_project(root, environ={})
    assert redact("token shpat_s3cr3t leaked") == "token *** leaked"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /x?access_token=EAAB123&limit=5", "GET /x?access_token=***&limit=5"),
        ("X-Shopify-Access-Token: shpat_1 sent", "X-Shopify-Access-Token: *** sent"),
        ("Authorization: Bearer abc.def", "Authorization: ***"),
        ("nothing secret here", "nothing secret here"),
    ],
    ids=["query-param", "shopify-header", "bearer", "plain"],
)
def test_redact_masks_credentials_in_free_text(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_google_customer_ids_accept_dashes(tmp_path: Path) -> None:
    root = make_project(tmp_path, '[sources.google_ads]\ncustomer_ids = ["123-456-7890"]\n')
    google = load_project(root, environ={}).settings.sources.google_ads
    assert google is not None and google.customer_ids == ["1234567890"]
    assert google.lookback_days == 14 and google.api_version == "v18"


def test_tiktok_defaults(tmp_path: Path) -> None:
    root = make_project(
        tmp_path, '[sources.tiktok_ads]\nadvertiser_ids = ["7000000000000000001"]\n'
    )
    tiktok = load_project(root, environ={}).settings.sources.tiktok_ads
    assert tiktok is not None and tiktok.lookback_days == 7 and tiktok.page_size == 1000


def test_every_missing_credential_of_every_source_is_named(tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        '[sources.google_ads]\ncustomer_ids = ["1234567890"]\n'
        '[sources.tiktok_ads]\nadvertiser_ids = ["7"]\n',
        secrets='[sources.shopify]\naccess_token = "shpat_x"\n'
        '[sources.google_ads]\ndeveloper_token = "dev"\n',
    )
    with pytest.raises(ConfigError) as err:
        require_secrets(load_project(root, environ={}))
    message = str(err.value)
    assert message.startswith("`sources.google_ads.client_id` is not set (and 3 more: ")
    for key in ("google_ads.client_secret", "google_ads.refresh_token", "tiktok_ads.access_token"):
        assert f"`sources.{key}`" in message
    assert "developer_token" not in message and "shopify" not in message
    assert "martlake.toml or .martlake/secrets.toml" in message  # client_id is not a secret
    assert "MARTLAKE__SOURCES__GOOGLE_ADS__CLIENT_ID" in message


def test_a_missing_secret_points_to_the_secrets_file_only(tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        '[sources.google_ads]\ncustomer_ids = ["1234567890"]\nclient_id = "cid"\n',
        secrets='[sources.shopify]\naccess_token = "shpat_x"\n'
        '[sources.google_ads]\nclient_secret = "s"\nrefresh_token = "r"\n',
    )
    with pytest.raises(ConfigError) as err:
        require_secrets(load_project(root, environ={}))
    assert str(err.value) == (
        "`sources.google_ads.developer_token` is not set: add it under [sources.google_ads] in "
        ".martlake/secrets.toml or set MARTLAKE__SOURCES__GOOGLE_ADS__DEVELOPER_TOKEN"
    )


def test_all_credentials_present_passes(tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        '[sources.tiktok_ads]\nadvertiser_ids = ["7"]\n',
        secrets='[sources.shopify]\naccess_token = "a"\n[sources.tiktok_ads]\naccess_token = "b"\n',
    )
    require_secrets(load_project(root, environ={}))


def test_numeric_env_values_keep_string_fields_strings(tmp_path: Path) -> None:
    root = make_project(tmp_path, '[sources.meta_ads]\naccount_ids = ["act_1"]\n')
    env = {
        "MARTLAKE__PRIVACY__DEFAULT_PHONE_COUNTRY_CODE": "44",
        "MARTLAKE__PROJECT__NAME": "2025",
        "MARTLAKE__SOURCES__META_ADS__ACCOUNT_IDS": '["1234567890"]',
        "MARTLAKE__SANDBOX__ORDERS_PER_DAY": "12.5",
        "MARTLAKE__SANDBOX__ENABLED": "true",
    }
    settings = load_project(root, environ=env).settings
    assert settings.privacy.default_phone_country_code == "44"
    assert settings.project.name == "2025"
    assert settings.sources.meta_ads is not None
    assert settings.sources.meta_ads.account_ids == ["1234567890"]
    assert settings.sandbox.orders_per_day == 12.5 and settings.sandbox.enabled is True


def test_sandbox_rehearsal_keys_parse_from_file_and_env(tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        '[sandbox]\nrestate_last_days = 10\nrestate_factor = 1.1\ndeleted_campaigns = ["meta:1"]\n',
    )
    box = load_project(
        root, environ={"MARTLAKE__SANDBOX__DELETED_CAMPAIGNS": '["google:2", "tiktok:3"]'}
    ).settings.sandbox
    assert (box.restate_last_days, str(box.restate_factor)) == (10, "1.1")
    assert box.deleted_campaigns == ["google:2", "tiktok:3"]


def test_a_deleted_campaign_without_its_platform_is_refused(tmp_path: Path) -> None:
    root = make_project(tmp_path, '[sandbox]\ndeleted_campaigns = ["12345"]\n')
    with pytest.raises(ConfigError, match="`12345` is not `platform:campaign_id`"):
        load_project(root, environ={})
