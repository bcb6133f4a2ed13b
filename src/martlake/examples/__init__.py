"""Project templates for `martlake init`."""

from __future__ import annotations

import difflib
import string
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from martlake.config import CONFIG_FILE, SandboxSettings
from martlake.errors import ConfigError

EXAMPLES_DIR = Path(__file__).parent
EXAMPLES = {
    "blank": "an empty project: fill in your Shopify and Meta accounts",
    "dtc_brand": "a simulated DTC shop (Shopify + Meta) served by the local sandbox",
}
SANDBOX_DAYS = 365


def create_project(dest: Path, example: str = "blank", *, force: bool = False) -> list[Path]:
    """Write a working project from a template into `dest`.

    Args:
        dest: Project directory (created if absent).
        example: Template name, one of `EXAMPLES`.
        force: Overwrite an existing `martlake.toml`. An existing `.martlake/secrets.toml` or
            `.gitignore` is never overwritten.

    Returns:
        The files written.

    Raises:
        ConfigError: Unknown template, or `dest` already holds a project.
    """
    if example not in EXAMPLES:
        close = difflib.get_close_matches(example, list(EXAMPLES), n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"choose from {', '.join(EXAMPLES)}"
        raise ConfigError(f"unknown example `{example}`: {hint}")
    if (dest / CONFIG_FILE).exists() and not force:
        raise ConfigError(
            f"`{dest / CONFIG_FILE}` already exists: run martlake there, or pass --force to "
            "overwrite it"
        )
    # The sandbox's "yesterday" is in its timezone, so the pinned start gives exactly
    # SANDBOX_DAYS days whatever the machine's clock zone.
    today = datetime.now(ZoneInfo(SandboxSettings().timezone)).date()
    yesterday = today - timedelta(days=1)
    values = {
        "start_date": (yesterday - timedelta(days=SANDBOX_DAYS - 1)).isoformat(),
        "project_name": dest.resolve().name,
    }
    written = []
    template_dir = EXAMPLES_DIR / example
    for src in sorted(template_dir.rglob("*")):
        if src.is_dir() or src.name == "__pycache__" or src.suffix == ".pyc":
            continue
        rel = src.relative_to(template_dir)
        parts = [
            part.replace("dot_", ".", 1) if part.startswith("dot_") else part for part in rel.parts
        ]
        target = dest.joinpath(*parts)
        target = target.with_name(target.name.removesuffix(".tmpl"))
        if target.exists() and target.name != CONFIG_FILE:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        text = src.read_text(encoding="utf-8")
        if src.name.endswith(".tmpl"):
            text = string.Template(text).substitute(values)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    secrets = dest / ".martlake" / "secrets.toml"
    if secrets in written:
        secrets.chmod(0o600)
    return written
