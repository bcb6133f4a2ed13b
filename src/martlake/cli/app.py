"""`martlake`: ingest, model, check and publish a shop's data with one command."""

from __future__ import annotations

import logging
import sys
import traceback
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from martlake import __version__
from martlake.cli._render import STATUS_STYLE, RichProgress, fmt_seconds, styled
from martlake.config import load_project, redact
from martlake.errors import ConfigError, MartlakeError

if TYPE_CHECKING:
    from martlake.alerts import AlertOutcome

app = typer.Typer(
    name="martlake",
    help=__doc__,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
sandbox_app = typer.Typer(help="The simulated business and its local API emulators.")
app.add_typer(sandbox_app, name="sandbox")
alerts_app = typer.Typer(help="Alert channels: Slack incoming webhook and SMTP email.")
app.add_typer(alerts_app, name="alerts")
privacy_app = typer.Typer(help="PII: find plaintext emails and phones that leaked.")
app.add_typer(privacy_app, name="privacy")

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

ProjectDir = Annotated[
    Path,
    typer.Option(
        "--project-dir",
        "-p",
        envvar="MARTLAKE_PROJECT_DIR",
        help="Project directory (holds martlake.toml).",
        show_default=False,
    ),
]


def _version(value: bool) -> None:
    if value:
        console.print(f"martlake {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[
        int,
        typer.Option("--verbose", "-v", count=True, help="More log output (-vv for debug)."),
    ] = 0,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, markup=False)],
        force=True,
    )


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the project.")] = Path("."),
    example: Annotated[
        str,
        typer.Option(
            "--example", "-e", envvar="MARTLAKE_EXAMPLE", help="Template: blank or dtc_brand."
        ),
    ] = "blank",
    force: Annotated[bool, typer.Option(help="Overwrite an existing martlake.toml.")] = False,
) -> None:
    """Create a project: martlake.toml, .martlake/secrets.toml and a .gitignore.

    Example: martlake init demo --example dtc_brand
    """
    from martlake.examples import create_project

    written = create_project(directory, example, force=force)
    console.print(f"Created {len(written)} files in {directory}/ from the `{example}` example.")
    console.print(f"Next: cd {directory} && martlake run")


@app.command()
def run(
    project_dir: ProjectDir = Path("."),
    skip_extract: Annotated[
        bool, typer.Option(envvar="MARTLAKE_SKIP_EXTRACT", help="Skip reading the sources.")
    ] = False,
    skip_load: Annotated[
        bool, typer.Option(envvar="MARTLAKE_SKIP_LOAD", help="Skip loading into the raw zone.")
    ] = False,
    skip_transform: Annotated[
        bool, typer.Option(envvar="MARTLAKE_SKIP_TRANSFORM", help="Skip the dbt build.")
    ] = False,
    skip_quality: Annotated[
        bool, typer.Option(envvar="MARTLAKE_SKIP_QUALITY", help="Skip the data-quality checks.")
    ] = False,
    skip_reconciliation: Annotated[
        bool,
        typer.Option(
            "--skip-reconciliation",
            "--skip-reconcile",
            envvar="MARTLAKE_SKIP_RECONCILIATION",
            help="Skip comparing warehouse totals with the sources' own.",
        ),
    ] = False,
    skip_publish: Annotated[
        bool, typer.Option(envvar="MARTLAKE_SKIP_PUBLISH", help="Skip writing the output files.")
    ] = False,
    from_step: Annotated[
        str | None,
        typer.Option("--from", envvar="MARTLAKE_FROM", help="Start at this step."),
    ] = None,
    only: Annotated[
        str | None, typer.Option(envvar="MARTLAKE_ONLY", help="Run this step alone.")
    ] = None,
    start_date: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            envvar="MARTLAKE_START_DATE",
            help="Backfill: re-read sources from this day.",
        ),
    ] = None,
    end_date: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            envvar="MARTLAKE_END_DATE",
            help="Backfill: read sources up to this day.",
        ),
    ] = None,
    full_refresh: Annotated[
        bool,
        typer.Option(
            envvar="MARTLAKE_FULL_REFRESH", help="Ignore watermarks, rebuild every model."
        ),
    ] = False,
    no_alerts: Annotated[
        bool,
        typer.Option(
            "--no-alerts",
            envvar="MARTLAKE_NO_ALERTS",
            help="Send no alert (and leave the alert history as it is).",
        ),
    ] = False,
) -> None:
    """Run the pipeline: extract → load → transform → quality → reconcile → publish.

    Exit code 0 when everything passed, 1 when a model or a CRITICAL check failed, 2 when the
    run could not complete (configuration, source, warehouse, another run holding the lock).

    Example: martlake run --skip-publish
    """
    from martlake.pipeline import RunOptions, run_pipeline
    from martlake.quality import Severity

    flags = {
        "extract": skip_extract,
        "load": skip_load,
        "transform": skip_transform,
        "quality": skip_quality,
        "reconcile": skip_reconciliation,
        "publish": skip_publish,
    }
    options = RunOptions(
        skip=frozenset(step for step, on in flags.items() if on),
        from_step=from_step,
        only=only,
        start_date=_day(start_date),
        end_date=_day(end_date),
        full_refresh=full_refresh,
        alerts=not no_alerts,
    )
    project = load_project(project_dir)
    result = run_pipeline(project, options, progress=RichProgress(console))
    bad = [c for c in result.checks if c.severity.rank >= Severity.WARN.rank]
    for check in bad:
        console.print(f"  {styled(check.severity.value)} {check.check}: {escape(check.message)}")
    _print_alerts(result.alerts)
    where = f"; outputs in {result.output_dir}" if result.output_dir else ""
    verdict = "ok" if result.exit_code == 0 else "failed"
    console.print(f"Run {result.run_id} {styled(verdict)}{where}")
    raise typer.Exit(result.exit_code)


@app.command()
def check(
    project_dir: ProjectDir = Path("."),
    accept_schema: Annotated[
        bool,
        typer.Option(
            envvar="MARTLAKE_ACCEPT_SCHEMA",
            help="Accept every table's current columns as the schema-drift baseline.",
        ),
    ] = False,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            envvar="MARTLAKE_CHECK_ONLY",
            help="Run this check alone (repeatable): freshness, inventory, schema_drift, …",
            show_default=False,
        ),
    ] = None,
    no_alerts: Annotated[
        bool,
        typer.Option(
            "--no-alerts",
            envvar="MARTLAKE_NO_ALERTS",
            help="Send no alert (and leave the alert history as it is).",
        ),
    ] = False,
) -> None:
    """Run the data-quality checks alone, on what the warehouse holds now.

    Shows every result that is not OK and sends their alerts like `martlake run` does
    (unless --no-alerts); results are kept as history, and `martlake status` shows each
    check's current state. Exit code 0 when no check is CRITICAL or ERROR, 1 otherwise, 2 on
    bad usage or configuration.

    Example: martlake check --only schema_drift --accept-schema
    """
    from martlake.pipeline import check_project
    from martlake.quality import Severity

    project = load_project(project_dir)
    done = check_project(
        project, only=only or (), accept_schema=accept_schema, alerts=not no_alerts
    )
    results = done.results
    shown = [r for r in results if r.severity is not Severity.OK]
    if shown:
        table = Table(title="Checks not OK")
        for col in ("check", "table", "severity", "message"):
            table.add_column(col)
        for r in sorted(shown, key=lambda r: (-r.severity.rank, r.check, r.table)):
            table.add_row(r.check, r.table, styled(r.severity.value), escape(r.message))
        console.print(table)
    failing = [r for r in results if r.severity in (Severity.CRITICAL, Severity.ERROR)]
    counts = Counter(r.severity.value for r in results)
    summary = ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))
    console.print(f"{len(results)} results: {summary}")
    _print_alerts(done.alerts)
    raise typer.Exit(1 if failing else 0)


@app.command()
def status(
    project_dir: ProjectDir = Path("."),
    limit: Annotated[
        int, typer.Option(envvar="MARTLAKE_STATUS_LIMIT", help="How many runs to show.")
    ] = 10,
) -> None:
    """Show the last runs, the steps of the latest one and the current check results.

    Example: martlake status --limit 5
    """
    from martlake.pipeline import check_states, recent_runs, step_log

    project = load_project(project_dir)
    runs = recent_runs(project, limit)
    if not runs:
        console.print("No runs yet: `martlake run` starts the first one.")
        return
    table = Table(title="Runs")
    for col in ("run", "started (UTC)", "duration", "status", "exit", "steps"):
        table.add_column(col)
    for r in runs:
        duration = (
            (r["finished_at"] - r["started_at"]).total_seconds() if r["finished_at"] else None
        )
        table.add_row(
            r["run_id"],
            f"{r['started_at'].astimezone(UTC):%Y-%m-%d %H:%M:%S}",
            fmt_seconds(duration),
            styled(r["status"]),
            "" if r["exit_code"] is None else str(r["exit_code"]),
            r["steps"] or "",
        )
    console.print(table)
    latest = runs[0]
    if latest["message"]:
        console.print(f"Last run stopped: {escape(latest['message'])}")
    steps = Table(title=f"Steps of {latest['run_id']}")
    for col in ("step", "status", "duration", "rows", "message"):
        steps.add_column(col)
    for step, state, seconds, rows, message in step_log(project, latest["run_id"]):
        steps.add_row(
            step,
            styled(state),
            fmt_seconds(seconds),
            "" if rows is None else f"{rows:,}",
            escape(message or ""),
        )
    console.print(steps)
    table = Table(title="Checks (current state)")
    for col in ("check", "table", "severity", "since (UTC)", "message"):
        table.add_column(col)
    for c in check_states(project):
        table.add_row(
            c.check,
            c.table,
            styled(c.severity.value) if c.severity else "",
            f"{c.since.astimezone(UTC):%Y-%m-%d %H:%M}" if c.since else "",
            escape(c.message),
        )
    console.print(table)


@app.command()
def sources(project_dir: ProjectDir = Path(".")) -> None:
    """List every source martlake knows: connected, failing, not configured or not available.

    Example: martlake sources
    """
    from martlake.pipeline import source_statuses

    table = Table(title="Sources")
    for col in ("source", "name", "state", "last load (UTC)", "last error"):
        table.add_column(col)
    for s in source_statuses(load_project(project_dir)):
        state = {"connected": "ok", "failing": "failed"}.get(s.state.value, "skipped")
        table.add_row(
            s.name,
            s.title,
            f"[{STATUS_STYLE[state]}]{s.state.value}[/]",
            f"{s.last_load.astimezone(UTC):%Y-%m-%d %H:%M}" if s.last_load else "",
            escape((s.message or "")[:120]) if s.state.value == "failing" else "",
        )
    console.print(table)


@app.command()
def docs(project_dir: ProjectDir = Path(".")) -> None:
    """Build dbt's documentation site (models, columns, tests, lineage graph) into
    `<output_dir>/docs/`: open its index.html in a browser, no server needed.

    Example: martlake docs
    """
    from martlake.pipeline import build_docs

    folder = build_docs(load_project(project_dir))
    console.print(f"Docs: {escape(str(folder / 'index.html'))}", soft_wrap=True)


@sandbox_app.command("serve")
def sandbox_serve(
    project_dir: ProjectDir = Path("."),
    host: Annotated[
        str, typer.Option(envvar="MARTLAKE_SANDBOX_HOST", help="Interface to listen on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="MARTLAKE_SANDBOX_PORT", help="Port.")] = 8765,
) -> None:
    """Serve the project's simulated business from the Shopify, Meta, Google, TikTok and Fairing
    emulators.

    Uses the [sandbox] section of the project (or the defaults outside a project) and runs
    until interrupted.

    Example: martlake sandbox serve --port 8765
    """
    from martlake.config import CONFIG_FILE, Project, Settings
    from martlake.pipeline import sandbox_server, simulator_config
    from martlake.sandbox import (
        SANDBOX_FAIRING_TOKEN,
        SANDBOX_GOOGLE_DEVELOPER_TOKEN,
        SANDBOX_GOOGLE_REFRESH_TOKEN,
        SANDBOX_META_TOKEN,
        SANDBOX_SHOPIFY_TOKEN,
        SANDBOX_TIKTOK_TOKEN,
    )

    if (project_dir / CONFIG_FILE).is_file():
        project = load_project(project_dir)
    else:
        project = Project(root=project_dir.resolve(), settings=Settings())
    config = simulator_config(project)
    server = sandbox_server(project, host=host, port=port)
    try:
        server.start()
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): pick another --port"
        ) from None
    console.print(f"Sandbox: {config.start_date} … {config.end_date}, seed {config.seed}")
    console.print(f"  Shopify  {server.shopify_base_url}  token {SANDBOX_SHOPIFY_TOKEN}")
    console.print(f"  Meta     {server.meta_base_url}  token {SANDBOX_META_TOKEN}")
    console.print(
        f"  Google   {server.google_base_url}  developer token {SANDBOX_GOOGLE_DEVELOPER_TOKEN}, "
        f"refresh token {SANDBOX_GOOGLE_REFRESH_TOKEN} (token URL {server.google_base_url}/token)"
    )
    console.print(f"  TikTok   {server.tiktok_base_url}  token {SANDBOX_TIKTOK_TOKEN}")
    empty = "" if config.survey_rate else " (no responses: the project has no [sources.fairing])"
    console.print(f"  Fairing  {server.fairing_base_url}  token {SANDBOX_FAIRING_TOKEN}{empty}")
    console.print("Press Ctrl-C to stop.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@alerts_app.command("test")
def alerts_test(project_dir: ProjectDir = Path(".")) -> None:
    """Send a test message to every alert channel configured in [alerts] (Slack, email).

    Exit code 0 when every channel accepted it, 1 when one failed (the line says why), 2 when
    no channel is configured.

    Example: martlake alerts test
    """
    from martlake.alerts import OutcomeStatus, send_test

    outcomes = send_test(load_project(project_dir))
    _print_alerts(outcomes)
    raise typer.Exit(1 if any(o.status is OutcomeStatus.FAILED for o in outcomes) else 0)


def _print_alerts(outcomes: list[AlertOutcome]) -> None:
    from martlake.alerts import OutcomeStatus

    suppressed = 0
    for o in outcomes:
        if o.status is OutcomeStatus.SENT:
            console.print(f"  {styled('ok')} alert sent to {o.channel}: {escape(o.subject)}")
        elif o.status is OutcomeStatus.FAILED:
            console.print(f"  {styled('failed')} alert to {o.channel}: {escape(o.error or '')}")
        else:
            suppressed += 1
    if suppressed:
        console.print(
            f"  {suppressed} alert(s) not sent again: already sent within [alerts] suppress_hours"
        )


@privacy_app.command("scan")
def privacy_scan(
    project_dir: ProjectDir = Path("."),
    output_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="MARTLAKE_OUTPUT_DIR",
            help="Folder of files to scan; default: the project's whole output folder.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Search every warehouse table and every output file for plaintext emails and phones.

    Prints where each was found with a masked sample (never the value itself). Exit code 0
    when nothing leaked, 1 when something did.

    Example: martlake privacy scan --output-dir martlake_output/2025-06-30
    """
    from martlake.privacy import scan

    findings = scan(load_project(project_dir), output_dir)
    if not findings:
        console.print(f"{styled('ok')} no plaintext email or phone number found")
        raise typer.Exit(0)
    table = Table(title="Plaintext PII found")
    for col in ("where", "kind", "count", "sample"):
        table.add_column(col)
    for f in findings:
        table.add_row(escape(f.where), f.kind, f"{f.count:,}", escape(f.sample))
    console.print(table)
    leaks = sum(f.kind != "unreadable" for f in findings)
    if leaks:
        console.print(
            f"{styled('failed')} {leaks} place(s) hold plaintext PII: "
            + escape(
                "hash or drop those columns with [privacy.columns], then rebuild (docs/privacy.md)"
            )
        )
    if len(findings) > leaks:
        console.print(
            f"{styled('failed')} {len(findings) - leaks} place(s) could not be scanned: "
            "see the sample column"
        )
    raise typer.Exit(1)


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit code instead of raising `SystemExit`."""
    try:
        code: Any = app(args=argv, prog_name="martlake", standalone_mode=False)
    except MartlakeError as exc:
        err_console.print(f"[bold red]error:[/] {escape(redact(str(exc)))}", soft_wrap=True)
        return exc.exit_code
    except typer.Abort:
        err_console.print("[bold red]aborted[/]")
        return 130
    except typer.TyperException as exc:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return 2
    except Exception:  # noqa: BLE001 - last resort: a bug, shown with its traceback
        err_console.print(redact(traceback.format_exc()), markup=False)
        err_console.print(
            "[bold red]error:[/] unexpected failure (a bug in martlake): please report it "
            "with the traceback above"
        )
        return 2
    return code if isinstance(code, int) else 0


def console_main() -> None:
    """The `martlake` executable."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    console_main()
