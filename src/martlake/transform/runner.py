"""Run the dbt project shipped with martlake, in-process, through dbt's programmatic runner.

Everything dbt writes (profiles.yml, target/, logs/) goes to a state directory; the shipped project
is only read. dbt's exceptions are translated into `TransformError` here and nowhere else.
"""

from __future__ import annotations

import gc
import importlib
import json
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from martlake.errors import TransformError

logger = logging.getLogger(__name__)

PROJECT_DIR: Path = Path(__file__).resolve().parent / "dbt_project"
"""The dbt project shipped in the package (read-only at run time)."""

DEFAULT_THREADS = 4
"""dbt worker threads unless told otherwise: models without a path between them build at the
same time, so one model's SQL runs while dbt prepares the next (DuckDB serialises commits)."""

PROFILE_NAME = "martlake"
TARGET_NAME = "duckdb"

DbtCommand = Literal["build", "run", "test", "docs generate", "parse"]

_SELECTING: frozenset[str] = frozenset({"build", "run", "test", "docs generate"})
_REFRESHING: frozenset[str] = frozenset({"build", "run"})
_FAILED: frozenset[str] = frozenset({"error", "fail"})
_MAX_CAUSE = 400
_PATH_KEYS = (
    "model-paths",
    "macro-paths",
    "test-paths",
    "seed-paths",
    "snapshot-paths",
    "analysis-paths",
)


@dataclass(frozen=True)
class NodeResult:
    """The outcome of one dbt node (a model, test, seed or snapshot)."""

    unique_id: str
    name: str
    resource_type: str
    status: str
    execution_time: float
    message: str | None
    rows_affected: int | None


@dataclass(frozen=True)
class DbtResult:
    """The outcome of one dbt command: `success` is False when a model or test failed."""

    command: str
    success: bool
    nodes: list[NodeResult]

    @property
    def failed(self) -> list[NodeResult]:
        """Nodes that errored or whose test failed."""
        return [node for node in self.nodes if node.status in _FAILED]

    @property
    def models(self) -> list[NodeResult]:
        """Model nodes."""
        return [node for node in self.nodes if node.resource_type == "model"]

    @property
    def tests(self) -> list[NodeResult]:
        """Data test nodes."""
        return [node for node in self.nodes if node.resource_type == "test"]


def run_dbt(
    command: DbtCommand,
    *,
    database: Path,
    state_dir: Path,
    select: list[str] | None = None,
    exclude: list[str] | None = None,
    full_refresh: bool = False,
    vars: dict[str, object] | None = None,
    threads: int = DEFAULT_THREADS,
    extra_model_paths: list[Path] | None = None,
) -> DbtResult:
    """Run a dbt command on the shipped project against a DuckDB file.

    dbt prints nothing: its log goes to `state_dir/logs/dbt.log` and its artifacts to
    `state_dir/target`. The caller must not hold `database` open while dbt runs; this function
    opens nothing itself.

    Args:
        command: The dbt command to run.
        database: The DuckDB warehouse file.
        state_dir: Where profiles.yml, target/ and logs/ are written (created if missing).
        select: dbt node selection (`--select`), for build, run, test and docs generate.
        exclude: dbt node exclusion (`--exclude`), same commands.
        full_refresh: Rebuild incremental models from scratch (build and run only).
        vars: Project variables (`--vars`).
        threads: dbt worker threads.
        extra_model_paths: Directories of user models built next to the shipped ones.

    Returns:
        The result of every node dbt ran; `success` is False when a model or test failed.

    Raises:
        TransformError: dbt could not run at all (the project does not parse, the profile or
            warehouse is unusable, dbt crashed).
        ValueError: An option does not apply to `command`.
    """
    if (select or exclude) and command not in _SELECTING:
        raise ValueError(f"`select`/`exclude` do not apply to dbt `{command}`")
    if full_refresh and command not in _REFRESHING:
        raise ValueError(f"`full_refresh` does not apply to dbt `{command}`")

    state_dir = state_dir.resolve()
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        _write_profiles(state_dir, database.resolve(), threads)
        project_dir = PROJECT_DIR
        if extra_model_paths:
            extra = [path.resolve() for path in extra_model_paths]
            project_dir = _overlay_project(state_dir, extra)
    except OSError as exc:
        raise TransformError(
            f"cannot write dbt's state to `{state_dir}`: {exc.strerror or exc}; make the"
            " directory writable or choose another state directory"
        ) from exc

    args = [
        *command.split(),
        "--project-dir", str(project_dir),
        "--profiles-dir", str(state_dir),
        "--target", TARGET_NAME,
        "--target-path", str(state_dir / "target"),
        "--log-path", str(state_dir / "logs"),
        "--threads", str(threads),
        "--log-level", "none",
        "--log-level-file", "info",
        "--no-use-colors",
        "--no-use-colors-file",
        "--no-send-anonymous-usage-stats",
        "--no-version-check",
        "--no-print",
    ]  # fmt: skip
    for selector in select or []:
        args += ["--select", selector]
    for selector in exclude or []:
        args += ["--exclude", selector]
    if full_refresh:
        args.append("--full-refresh")
    if command == "docs generate":
        args.append("--static")  # also writes static_index.html, which embeds the artifacts
    if vars:
        args += ["--vars", json.dumps(vars, default=str)]

    logger.debug("dbt %s", " ".join(args))
    outcome = _invoke(args, command=command, state_dir=state_dir, database=database)
    nodes = [_node_result(result) for result in getattr(outcome.result, "results", None) or []]
    for node in nodes:
        quiet = node.resource_type == "test" and node.status == "pass"
        logger.log(
            logging.DEBUG if quiet else logging.INFO,
            "dbt %s %s %s in %.2fs",
            node.resource_type,
            node.name,
            node.status,
            node.execution_time,
        )
    return DbtResult(command=command, success=bool(outcome.success), nodes=nodes)


def _invoke(args: list[str], *, command: str, state_dir: Path, database: Path) -> Any:
    from dbt.cli.main import dbtRunner

    try:
        with _collector_paused():
            outcome = dbtRunner().invoke(args)
        failure: BaseException | None = outcome.exception
    except Exception as exc:  # dbtRunner raises for usage errors and unexpected crashes
        failure = exc
    finally:
        _release_warehouse()
    if failure is not None:
        error = _transform_error(failure, command=command, state_dir=state_dir, database=database)
        raise error from failure
    return outcome


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while dbt runs, back on after.

    dbt holds its whole project in memory and each collection of the oldest generation walks
    all of it: they paused a daily build for longer than most of its models took. The cyclic
    garbage of one dbt command is small (tens of thousands of objects, measured on the marts
    bench); the collector takes it once it is back on.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _release_warehouse() -> None:
    """Close the DuckDB handle dbt-duckdb keeps between invocations, so the file is free again."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    manager: Any = DuckDBConnectionManager
    env = getattr(manager, "_ENV", None)
    if env is not None:
        try:
            env.close()
        finally:
            manager.close_all_connections()


def _transform_error(
    exc: BaseException, *, command: str, state_dir: Path, database: Path
) -> TransformError:
    cause = " ".join(str(exc).split()) or type(exc).__name__
    if len(cause) > _MAX_CAUSE:
        cause = cause[: _MAX_CAUSE - 1] + "…"
    kind = type(exc).__name__
    if "Profile" in kind or "profile" in cause.lower():
        hint = (
            f"the project's `profile:` must be `{PROFILE_NAME}`, the profile martlake writes to"
            f" `{state_dir / 'profiles.yml'}`"
        )
    elif "Connect" in kind or kind.endswith("IOException") or "IO Error" in cause:
        hint = f"check that `{database}` can be opened and that no other process holds it"
    else:
        hint = f"fix the file named above (dbt log: `{state_dir / 'logs' / 'dbt.log'}`)"
    return TransformError(f"dbt {command} could not run ({kind}): {cause}; {hint}")


def _node_result(result: Any) -> NodeResult:
    node = result.node
    status = getattr(result.status, "value", result.status)
    response = getattr(result, "adapter_response", None) or {}
    rows = response.get("rows_affected") if isinstance(response, dict) else None
    resource_type = getattr(node.resource_type, "value", node.resource_type)
    return NodeResult(
        unique_id=node.unique_id,
        name=node.name,
        resource_type=str(resource_type),
        status=str(status),
        execution_time=float(result.execution_time or 0.0),
        message=result.message,
        rows_affected=rows if isinstance(rows, int) else None,
    )


def _write_profiles(state_dir: Path, database: Path, threads: int) -> None:
    profile = {
        PROFILE_NAME: {
            "target": TARGET_NAME,
            "outputs": {
                TARGET_NAME: {
                    "type": "duckdb",
                    "path": str(database),
                    "schema": "main",
                    "threads": threads,
                }
            },
        }
    }
    # JSON is YAML: no YAML writer needed.
    (state_dir / "profiles.yml").write_text(json.dumps(profile, indent=2) + "\n", encoding="utf-8")


def _overlay_project(state_dir: Path, extra_model_paths: list[Path]) -> Path:
    """A project in `state_dir/project` linking the shipped folders and the user's model folders.

    dbt joins its target path with each file's path relative to the project root, so model paths
    outside the root would make dbt write compiled SQL over the source files: link them in instead.
    A user model named like a shipped one replaces it: dbt forbids two models of one name, so the
    shipped file is left out of the overlay, the override builds into the replaced model's schema,
    and the shipped properties of the model are dropped when the user's .yml files describe it.
    """
    yaml = importlib.import_module("yaml")  # PyYAML comes with dbt; it ships no type stubs
    overlay = state_dir / "project"
    if overlay.exists():
        shutil.rmtree(overlay)
    overlay.mkdir()
    config = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    user_models = _user_models(extra_model_paths)
    shipped_paths = [PROJECT_DIR / folder for folder in config.get("model-paths") or ["models"]]
    shipped = {
        sql.stem: sql.relative_to(root)
        for root in shipped_paths
        if root.is_dir()
        for sql in sorted(root.rglob("*.sql"))
    }
    overridden = sorted(user_models.keys() & shipped.keys())
    described = _described_models(extra_model_paths, yaml) & set(overridden)
    for key in _PATH_KEYS:
        for folder in config.get(key) or []:
            if not (PROJECT_DIR / folder).is_dir():
                continue
            if key == "model-paths" and overridden:
                _mirror(PROJECT_DIR / folder, overlay / folder, set(overridden), described, yaml)
            else:
                _link(PROJECT_DIR / folder, overlay / folder)
    model_config = config.setdefault("models", {}).setdefault(config["name"], {})
    for index, path in enumerate(extra_model_paths):
        name = f"user_models_{index}"
        _link(path, overlay / name)
        config["model-paths"] = [*config.get("model-paths", ["models"]), name]
    for model in overridden:
        relative = user_models[model][1]
        schema = _configured(model_config, shipped[model], "+schema")
        if schema is None:
            continue
        node = model_config  # a model's fqn leaves out its model path: user_models_N/a/b → a, b
        for part in relative.parent.parts:
            node = node.setdefault(part, {})
        node[model] = {"+schema": schema}
        logger.info("user model `%s` replaces the shipped one (schema %s)", model, schema)
    (overlay / "dbt_project.yml").write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    return overlay


def _user_models(extra_model_paths: list[Path]) -> dict[str, tuple[int, Path]]:
    """Model name → (index of its folder, path inside the folder) of every user model."""
    found: dict[str, tuple[int, Path]] = {}
    for index, path in enumerate(extra_model_paths):
        if not path.is_dir():
            raise TransformError(
                f"extra model path `{path}` is not a directory; create it or remove it from the"
                " project's model paths"
            )
        for sql in sorted(path.rglob("*.sql")):
            if sql.stem in found:
                first = extra_model_paths[found[sql.stem][0]] / found[sql.stem][1]
                raise TransformError(
                    f"two user models are named `{sql.stem}`: `{first}` and `{sql}`; dbt needs"
                    " unique model names, rename or remove one"
                )
            found[sql.stem] = (index, sql.relative_to(path))
    return found


def _described_models(extra_model_paths: list[Path], yaml: Any) -> set[str]:
    """Names of the models the user's .yml files give properties to (unreadable files: none)."""
    names: set[str] = set()
    for path in extra_model_paths:
        for file in sorted([*path.rglob("*.yml"), *path.rglob("*.yaml")]):
            try:
                document = yaml.safe_load(file.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue  # dbt reports the file itself
            for model in _model_entries(document):
                names.add(str(model["name"]))
    return names


def _model_entries(document: Any) -> list[dict[str, Any]]:
    models = document.get("models") if isinstance(document, dict) else None
    if not isinstance(models, list):
        return []
    return [m for m in models if isinstance(m, dict) and "name" in m]


def _mirror(source: Path, target: Path, skip: set[str], drop: set[str], yaml: Any) -> None:
    """Recreate `source` at `target` from links to its files, without the models in `skip` and
    without the properties of the models in `drop`."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir()):
        if entry.is_dir():
            _mirror(entry, target / entry.name, skip, drop, yaml)
        elif entry.suffix == ".sql" and entry.stem in skip:
            continue
        elif entry.suffix in {".yml", ".yaml"} and drop:
            document = yaml.safe_load(entry.read_text(encoding="utf-8"))
            entries = _model_entries(document)
            if any(m["name"] in drop for m in entries):
                document["models"] = [m for m in entries if m["name"] not in drop]
                (target / entry.name).write_text(
                    yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8"
                )
            else:
                _link(entry, target / entry.name)
        else:
            _link(entry, target / entry.name)


def _configured(model_config: dict[str, Any], relative: Path, key: str) -> Any:
    """The value of `key` that dbt_project.yml's `models:` tree gives the model at `relative`."""
    value = model_config.get(key)
    node: Any = model_config
    for part in relative.parent.parts:
        node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and key in node:
            value = node[key]
    return value


def _link(target: Path, link: Path) -> None:
    try:
        link.symlink_to(target, target_is_directory=target.is_dir())
    except OSError:  # no symlink privilege (Windows): a copy is good enough for one run
        if target.is_dir():
            shutil.copytree(target, link)
        else:
            shutil.copy2(target, link)
