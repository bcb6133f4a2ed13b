"""`martlake docs`: dbt's documentation site of the project's models, columns, tests and lineage."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from martlake.config import Project
from martlake.errors import TransformError, WarehouseError
from martlake.pipeline._lock import RunLock
from martlake.pipeline._steps import dbt_vars, user_model_paths

logger = logging.getLogger(__name__)

DOCS_FOLDER = "docs"
"""The folder of `<output_dir>` the site is copied to."""

_SITE = {
    "static_index.html": "index.html",
    "manifest.json": "manifest.json",
    "catalog.json": "catalog.json",
}
_MAX_NAMED = 5


def build_docs(project: Project) -> Path:
    """Generate dbt's docs for the shipped models and the project's own, into `<output_dir>/docs`.

    Runs `dbt docs generate` with the same state directory, vars and user models as
    `martlake run`, then copies `index.html` (dbt's static page: the manifest and catalog are
    embedded, so it opens from disk without a web server), `manifest.json` and `catalog.json`.
    The catalog (column types, row counts) describes the warehouse as the last run left it.

    Args:
        project: The project.

    Returns:
        The docs folder.

    Raises:
        WarehouseError: The project has no warehouse yet.
        LockError: A run holds the project.
        TransformError: dbt could not run, or a model does not compile.
    """
    if not project.warehouse_path.is_file():
        raise WarehouseError(
            f"no warehouse at `{project.warehouse_path}` yet: run `martlake run` first, then"
            " `martlake docs`"
        )
    from martlake.transform import run_dbt

    state_dir = project.state_dir / "dbt"
    with RunLock(project.state_dir):
        result = run_dbt(
            "docs generate",
            database=project.warehouse_path,
            state_dir=state_dir,
            vars=dbt_vars(project),
            threads=project.settings.transform.threads,
            extra_model_paths=user_model_paths(project),
        )
    if not result.success:
        failed = result.failed
        names = ", ".join(node.name for node in failed[:_MAX_NAMED]) or "the project"
        more = f" and {len(failed) - _MAX_NAMED} more" if len(failed) > _MAX_NAMED else ""
        raise TransformError(
            f"dbt docs generate failed for {names}{more}: fix the model (dbt log:"
            f" `{state_dir / 'logs' / 'dbt.log'}`) and run `martlake docs` again"
        )
    target = state_dir / "target"
    folder = project.output_dir / DOCS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for source, name in _SITE.items():
        if not (target / source).is_file():
            raise TransformError(
                f"dbt docs generate wrote no `{source}` into `{target}`: check the dbt log"
                f" `{state_dir / 'logs' / 'dbt.log'}`"
            )
        shutil.copyfile(target / source, folder / name)
    logger.info("docs written to %s", folder)
    return folder
