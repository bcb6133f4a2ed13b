"""Build small sandbox projects for tests: the dtc_brand example with fixed dates and size."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

from martlake.config import Project, load_project
from martlake.examples import create_project

START = date(2025, 1, 1)
END = date(2025, 2, 28)


def make_sandbox_project(
    root: Path,
    *,
    start: date = START,
    end: date = END,
    orders_per_day: int = 40,
    seed: int = 7,
) -> Path:
    """A dtc_brand project whose simulated business spans fixed dates."""
    create_project(root, "dtc_brand")
    config = root / "martlake.toml"
    text = config.read_text()
    text = re.sub(r'start_date = "[0-9-]+"', f'start_date = "{start.isoformat()}"', text)
    text = text.replace("orders_per_day = 300", f"orders_per_day = {orders_per_day}")
    text = text.replace("seed = 42", f"seed = {seed}")
    text = text.replace(
        "[sandbox]\nenabled = true\n",
        f'[sandbox]\nenabled = true\nend_date = "{end.isoformat()}"\n',
    )
    config.write_text(text)
    return root


def project(root: Path) -> Project:
    return load_project(root, environ={})


def cli(
    root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the real `martlake` executable in `root`."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MARTLAKE")}
    full_env.update(env or {})
    exe = Path(sys.executable).with_name("martlake")
    return subprocess.run(
        [str(exe), *args], cwd=root, env=full_env, capture_output=True, text=True, timeout=timeout
    )
