"""Read `martlake.toml`, `.martlake/secrets.toml` and `MARTLAKE__*` env vars into `Settings`."""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from martlake.config._models import Settings
from martlake.config._redact import register_secret
from martlake.errors import ConfigError

CONFIG_FILE = "martlake.toml"
SECRETS_FILE = ".martlake/secrets.toml"
ENV_PREFIX = "MARTLAKE__"
_MAX_REPORTED = 3

Origins = dict[tuple[str, ...], str]


@dataclass(frozen=True)
class Project:
    """A martlake project: a directory with `martlake.toml` and its resolved settings."""

    root: Path
    settings: Settings

    @property
    def state_dir(self) -> Path:
        """`.martlake/`: secrets, lock, dlt and dbt working files."""
        return self.root / ".martlake"

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB file."""
        return self.root / self.settings.warehouse.path

    @property
    def output_dir(self) -> Path:
        """Where each run's outputs go (one folder per run date)."""
        return self.root / self.settings.publish.output_dir


def load_project(
    root: Path | str = ".",
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Project:
    """Load and validate a project's configuration.

    Precedence: `overrides` (command-line flags, dotted keys) > `MARTLAKE__*` env vars >
    `.martlake/secrets.toml` > `martlake.toml` > defaults.

    Args:
        root: The project directory.
        overrides: Dotted keys to values, e.g. `{"warehouse.path": "x.duckdb"}`.
        environ: Environment to read `MARTLAKE__*` variables from; default `os.environ`.

    Returns:
        The project with validated settings.

    Raises:
        ConfigError: The file is missing or malformed, or a key is unknown, mistyped or missing.
    """
    root = Path(root).resolve()
    config_path = root / CONFIG_FILE
    if not config_path.is_file():
        raise ConfigError(
            f"no {CONFIG_FILE} in `{root}`: run `martlake init {root}` to create a project, "
            "or pass --project-dir"
        )
    merged: dict[str, Any] = {}
    origins: Origins = {}
    _merge(merged, _read_toml(config_path), CONFIG_FILE, origins)
    secrets_path = root / SECRETS_FILE
    if secrets_path.is_file():
        _merge(merged, _read_toml(secrets_path), SECRETS_FILE, origins)
    for key, value in _env_layer(os.environ if environ is None else environ):
        _merge(merged, _nest(key, value), f"env var {ENV_PREFIX}{'__'.join(key).upper()}", origins)
    for dotted, value in (overrides or {}).items():
        _merge(merged, _nest(tuple(dotted.split(".")), value), "the command line", origins)
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origins)) from None
    _register_secrets(settings)
    return Project(root=root, settings=settings)


def require_secrets(project: Project) -> None:
    """Fail with one line naming every missing credential of the configured sources.

    A credential is a `SecretStr` field of a source's settings, or a field marked
    `json_schema_extra={"credential": True}` (Google's OAuth `client_id`).

    Raises:
        ConfigError: A configured source lacks a credential.
    """
    sources = project.settings.sources
    missing = [
        (name, field)
        for name in type(sources).model_fields
        if (cfg := getattr(sources, name)) is not None
        for field in _credential_fields(type(cfg))
        if getattr(cfg, field) is None
    ]
    if missing:
        name, field = missing[0]
        secret = _is_secret(type(getattr(sources, name)), field)
        where = SECRETS_FILE if secret else f"{CONFIG_FILE} or {SECRETS_FILE}"
        others = ", ".join(f"`sources.{n}.{f}`" for n, f in missing[1:])
        more = f" (and {len(missing) - 1} more: {others})" if len(missing) > 1 else ""
        raise ConfigError(
            f"`sources.{name}.{field}` is not set{more}: add it under [sources.{name}] in "
            f"{where} or set {ENV_PREFIX}SOURCES__{name.upper()}__{field.upper()}"
        )


def _credential_fields(model: type[BaseModel]) -> list[str]:
    """Names of the fields of a source's settings that hold credentials, in declaration order."""
    out = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        marked = isinstance(extra, dict) and extra.get("credential") is True
        if marked or _is_secret(model, name):
            out.append(name)
    return out


def _is_secret(model: type[BaseModel], name: str) -> bool:
    annotation = model.model_fields[name].annotation
    return annotation is SecretStr or SecretStr in (getattr(annotation, "__args__", None) or ())


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name} is not valid TOML ({exc}): fix the file `{path}`") from None
    except OSError as exc:
        raise ConfigError(f"cannot read `{path}`: {exc.strerror}") from None


def _env_layer(environ: Mapping[str, str]) -> list[tuple[tuple[str, ...], Any]]:
    out = []
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or len(name) == len(ENV_PREFIX):
            continue
        key = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
        # Only lists and tables are JSON; scalars stay strings and pydantic converts them to
        # the field's type, so `44` stays a string for a string field.
        value: Any = raw
        if raw.lstrip().startswith(("[", "{")):
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
        out.append((key, value))
    return out


def _nest(key: tuple[str, ...], value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {key[-1]: value}
    for part in reversed(key[:-1]):
        out = {part: out}
    return out


def _merge(
    into: dict[str, Any],
    layer: Mapping[str, Any],
    origin: str,
    origins: Origins,
    prefix: tuple[str, ...] = (),
) -> None:
    for key, value in layer.items():
        path = (*prefix, key)
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value, origin, origins, path)
            origins.setdefault(path, origin)
            continue
        into[key] = dict(value) if isinstance(value, Mapping) else value
        _mark(value, origin, origins, path)


def _mark(value: Any, origin: str, origins: Origins, path: tuple[str, ...]) -> None:
    origins[path] = origin
    if isinstance(value, Mapping):
        for key, sub in value.items():
            _mark(sub, origin, origins, (*path, key))


def _origin_of(loc: tuple[str, ...], origins: Origins) -> str:
    for end in range(len(loc), 0, -1):
        if loc[:end] in origins:
            return origins[loc[:end]]
    return CONFIG_FILE


def _describe(exc: ValidationError, origins: Origins) -> str:
    problems = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        key = ".".join(loc)
        where = _origin_of(loc, origins)
        kind = err["type"]
        if kind == "extra_forbidden":
            hint = _did_you_mean(loc)
            problems.append(f"unknown key `{key}` in {where}: remove it{hint}")
        elif kind == "missing":
            section = ".".join(loc[:-1])
            problems.append(f"`{key}` is missing: add `{loc[-1]} = …` under [{section}] in {where}")
        else:
            secret = any(w in key for w in ("token", "secret", "password", "webhook"))
            shown = "***" if secret else repr(err.get("input"))
            problems.append(f"`{key}` = `{shown}` in {where} is invalid: {err['msg']}")
    head = "; ".join(problems[:_MAX_REPORTED])
    rest = len(problems) - _MAX_REPORTED
    return head + (f" (… and {rest} more)" if rest > 0 else "")


def _did_you_mean(loc: tuple[str, ...]) -> str:
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        field = model.model_fields.get(part)
        if field is None:
            return ""
        annotation = field.annotation
        candidates = [
            arg
            for arg in (getattr(annotation, "__args__", None) or (annotation,))
            if isinstance(arg, type) and issubclass(arg, BaseModel)
        ]
        if not candidates:
            return ""
        model = candidates[0]
    close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1)
    return f" or did you mean `{'.'.join((*loc[:-1], close[0]))}`?" if close else ""


def _register_secrets(model: BaseModel) -> None:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            register_secret(value.get_secret_value())
        elif isinstance(value, BaseModel):
            _register_secrets(value)
