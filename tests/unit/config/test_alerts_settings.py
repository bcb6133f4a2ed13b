from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from martlake.config import load_project, redact
from martlake.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def project_dir(tmp_path: Path, extra: str = "") -> Path:
    shutil.copy(FIXTURES / "alerts" / "martlake.toml", tmp_path / "martlake.toml")
    (tmp_path / ".martlake").mkdir()
    shutil.copy(FIXTURES / "alerts" / "secrets.toml", tmp_path / ".martlake" / "secrets.toml")
    with (tmp_path / "martlake.toml").open("a") as fh:
        fh.write(extra)
    return tmp_path


def test_alerts_are_off_by_default(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "config" / "minimal.toml", tmp_path / "martlake.toml")
    alerts = load_project(tmp_path, environ={}).settings.alerts
    assert (alerts.min_severity, alerts.suppress_hours) == ("WARN", 24)
    assert alerts.slack is None and alerts.email is None


def test_webhook_and_password_come_from_secrets_and_env_and_are_masked(tmp_path: Path) -> None:
    url = "https://hooks.slack.com/services/T1/B2/from-env-Kq93"
    alerts = load_project(
        project_dir(tmp_path), environ={"MARTLAKE__ALERTS__SLACK__WEBHOOK_URL": url}
    ).settings.alerts
    assert alerts.slack is not None and alerts.email is not None
    assert alerts.slack.webhook_url.get_secret_value() == url
    assert alerts.email.to == ["data-team@shop.example", "ops@shop.example"]
    assert alerts.email.starttls is False and alerts.email.port == 2525
    assert redact(f"posting to {url} as smtp-pass-Zq81x") == "posting to *** as ***"


def test_ssl_and_starttls_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="set `starttls = false` with `ssl = true`"):
        load_project(
            project_dir(tmp_path),
            environ={
                "MARTLAKE__ALERTS__EMAIL__SSL": "true",
                "MARTLAKE__ALERTS__EMAIL__STARTTLS": "true",
            },
        )


def test_an_invalid_secret_is_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_project(
            project_dir(tmp_path), environ={"MARTLAKE__ALERTS__SLACK__WEBHOOK_URL": '["leak-7731"]'}
        )
    assert "`alerts.slack.webhook_url` = `***`" in str(info.value)
    assert "leak-7731" not in str(info.value)


def test_unknown_severity_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="`alerts.min_severity` = `'INFO'`"):
        load_project(project_dir(tmp_path), environ={"MARTLAKE__ALERTS__MIN_SEVERITY": "INFO"})
