"""hams serve | worker | migrate | projects create/list/quota | keys create/list/revoke | usage,
and the client commands (transcribe, tts, jobs, content, voices) from :mod:`hams.cli_client`.

Admin commands open the server's database through :mod:`hams.cli_database`, never creating or
migrating it. Server modules are imported inside the commands that need them, so client
commands start fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from hams import __version__, cli_database, cli_output
from hams.cli_client import add_client_commands, run_client_command
from hams.cli_extras import not_installed

if TYPE_CHECKING:
    from hams.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if hasattr(args, "client_func"):
            return run_client_command(args)
        from hams.settings import Settings

        settings = Settings()
    except ModuleNotFoundError as exc:  # `pip install hams` is the SDK alone
        return not_installed(args.command, exc)
    _configure_logging(settings.log_level, settings.log_format)
    try:
        return args.func(settings, args) or 0
    except ModuleNotFoundError as exc:
        return not_installed(args.command, exc)
    except Exception as exc:  # noqa: BLE001 - a CLI prints the reason, not a traceback
        message = getattr(exc, "message", None) or str(exc)
        _say(settings, f"error: {message}", logging.ERROR)
        return 1


def _configure_logging(level: str, log_format: str = "text") -> None:
    """Logs on stderr with keys redacted, as text or one JSON object per line; Alembic's INFO
    chatter only when debugging."""
    logging.basicConfig(level=level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactKeys())
    if log_format == "json":
        _log_everything_as_json()
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    _route_loguru(debugging=logging.getLogger().getEffectiveLevel() <= logging.DEBUG)


def _route_loguru(*, debugging: bool) -> None:
    """Pipecat logs through loguru: its records join ours (one format, keys redacted), and
    below WARNING only when debugging (it narrates every frame processor's life)."""
    try:
        from loguru import logger
    except ModuleNotFoundError:  # the server extra is not installed
        return
    pipecat = logging.getLogger("pipecat")
    logger.remove()
    logger.add(lambda message: pipecat.log(message.record["level"].no,
                                           message.record["message"]),
               level="DEBUG" if debugging else "WARNING", format="{message}")


def _log_everything_as_json() -> None:
    """Every line on stderr a JSON object: our handlers' format, and warnings and uncaught
    exceptions (which Python would print as bare text) through logging."""
    from hams.logs import JsonFormatter

    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonFormatter())
    logging.captureWarnings(True)
    crashes = logging.getLogger("hams.crash")
    sys.excepthook = lambda kind, error, trace: crashes.critical(
        "uncaught exception", exc_info=(kind, error, trace))
    threading.excepthook = lambda hook: crashes.critical(
        "uncaught exception in thread %s", hook.thread.name if hook.thread else "?",
        exc_info=(hook.exc_type, hook.exc_value, hook.exc_traceback))


def _say(settings: Settings, message: str, level: int = logging.WARNING) -> None:
    """A line for the operator on stderr: printed, or logged when every line must be JSON."""
    if settings.log_format == "json":
        logging.getLogger("hams").log(level, message)
    else:
        print(message, file=sys.stderr)


class RedactKeys(logging.Filter):
    """Hide API keys that clients put in URLs (``/v1/realtime/ws?api_key=...``) from logs."""

    _KEY = re.compile(r"(api_key=)[^&\s\"']+", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format call is the handler's to report,
            return True  # never an exception raised into the code that logged
        if "api_key=" in message.lower():
            record.msg, record.args = self._KEY.sub(r"\1[redacted]", message), None
        return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hams", description="Self-hosted Hamsa-compatible "
                                     "voice AI server")
    parser.add_argument("--version", action="version", version=f"hams {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the API (and N in-process workers)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=2,
                       help="job threads; 0 = API only. Concurrent transcriptions share "
                       "batched decodes (HAMS_STT_BATCH_SIZE)")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run job workers only")
    worker.add_argument("--concurrency", type=int, default=4,
                        help="job threads; concurrent transcriptions share batched "
                        "decodes (HAMS_STT_BATCH_SIZE)")
    worker.set_defaults(func=cmd_worker)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)

    models = sub.add_parser("models", help="speech-to-text models").add_subparsers(required=True)
    download = models.add_parser(
        "download", help="fetch a faster-whisper model into HAMS_DATA_DIR/models (then copy "
        "that folder to a server without network)")
    download.add_argument("name", help="a faster-whisper model name, e.g. large-v3-turbo; "
                          "'bundled' joins the offline extra's Whisper base")
    download.set_defaults(func=cmd_models_download)

    projects = sub.add_parser("projects", help="manage projects").add_subparsers(required=True)
    list_projects = projects.add_parser(
        "list", help="list projects: id, name, created time, number of active keys")
    list_projects.add_argument("--json", action="store_true")
    list_projects.set_defaults(func=cmd_projects_list)
    create_project = projects.add_parser("create", help="create a project")
    create_project.add_argument("name")
    create_project.set_defaults(func=cmd_projects_create)
    quota = projects.add_parser(
        "quota", help="show or set a project's monthly quotas (UTC month)",
        description="Without options, show the quotas and this month's use. A value of 'none' "
        "clears a quota (unlimited).")
    quota.add_argument("name", help="project name")
    quota.add_argument("--audio-seconds", type=_quota_value, default=UNSET,
                       help="seconds of audio transcribed (jobs and realtime)")
    quota.add_argument("--tts-characters", type=_quota_value, default=UNSET,
                       help="characters synthesized (jobs, realtime, OpenAI speech)")
    quota.add_argument("--tokens", type=_quota_value, default=UNSET, help="LLM tokens")
    quota.add_argument("--clear", action="store_true", help="clear every quota")
    quota.add_argument("--json", action="store_true")
    quota.set_defaults(func=cmd_projects_quota)

    usage = sub.add_parser("usage", help="usage per project over a period (default: this "
                           "month)")
    usage.add_argument("--project", help="one project, by name (default: every project)")
    usage.add_argument("--from", dest="start", help="ISO date or datetime, or epoch ms")
    usage.add_argument("--to", dest="end", help="ISO date (inclusive) or datetime, or epoch ms")
    usage.add_argument("--json", action="store_true")
    usage.set_defaults(func=cmd_usage)

    key_cmds = sub.add_parser("keys", help="manage API keys").add_subparsers(required=True)
    create_key = key_cmds.add_parser("create", help="create a key; prints the secret once")
    create_key.add_argument("--project", default="default")
    create_key.add_argument("--name")
    create_key.add_argument("--expires", help="ISO 8601 expiry time")
    create_key.add_argument("--json", action="store_true")
    create_key.set_defaults(func=cmd_keys_create)
    key_cmds.add_parser("list", help="list keys").set_defaults(func=cmd_keys_list)
    revoke = key_cmds.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id")
    revoke.set_defaults(func=cmd_keys_revoke)
    add_client_commands(sub)
    return parser


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from hams.app import create_app
    from hams.runtime import build_runtime
    from hams.services import keys

    if not settings.instance_id:  # a restart on the same port fails the calls it held at once
        settings.instance_id = f"{socket.gethostname()}:{args.port}"
    runtime = build_runtime(settings, num_workers=max(1, args.workers))
    with runtime.db.session() as session:
        created = keys.ensure_default_project(session)
    if created:
        key, webhook_secret = created
        _say(settings, "Created project 'default'. Its API key (shown once) follows on "
             f"stdout; its webhook signing secret is {webhook_secret}")
        print(key, flush=True)
    app = create_app(settings, workers=args.workers, runtime=runtime)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None,  # logs to stderr
                log_level=settings.log_level.lower(),
                ws_ping_interval=settings.realtime_ws_ping_seconds,
                # generous: while a long request runs, the server reads no pong
                ws_ping_timeout=settings.realtime_ws_ping_seconds * 4,
                ws_max_size=settings.realtime_max_body_bytes,
                timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) + 5)
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from hams.runtime import build_runtime
    from hams.worker.runner import Worker

    runtime = build_runtime(settings, num_workers=args.concurrency)
    worker = Worker(runtime, args.concurrency)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if settings.worker_metrics_port:  # its job histograms live in this process
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port, addr=settings.metrics_host)
    worker.start()
    logging.getLogger("hams").info("worker %s running %d job threads%s", worker.name,
                                   args.concurrency, _metrics_where(settings))
    stop.wait()
    if not worker.stop():
        # released jobs are safe in the database; skip interpreter teardown, which would
        # abort under a thread that is still in native code
        logging.shutdown()
        os._exit(0)
    return 0


def _metrics_where(settings: Settings) -> str:
    port = settings.worker_metrics_port
    return f"; metrics on http://{settings.metrics_host}:{port}/metrics" if port else ""


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from hams.db.migrate import upgrade
    from hams.db.session import Database

    db = Database(settings.resolved_database_url)  # creates a missing SQLite file: asked for
    try:
        before, after = upgrade(db)
    finally:
        db.dispose()
    where = cli_database.database_name(settings)
    if before == after:
        print(f"database {where} is up to date (revision {after})")
    elif before is None:
        print(f"database {where}: created the hams schema (revision {after})")
    else:
        print(f"database {where}: migrated from revision {before} to {after}")
    return 0


def cmd_models_download(settings: Settings, args: argparse.Namespace) -> int:
    from hams.engines.models import download_model

    models_dir = settings.data_dir / "models"
    where = download_model(args.name, models_dir)
    print(f"{args.name} is ready in {where}")
    print(f"A server whose HAMS_DATA_DIR/models holds a copy of {models_dir} loads "
          f"HAMS_STT_MODEL={args.name} from it without network.", file=sys.stderr)
    return 0


def cmd_projects_list(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import func, or_, select

    from hams.api.schemas.common import iso
    from hams.db.models import ApiKey, Project

    active_keys = select(func.count(ApiKey.id)).where(
        ApiKey.project_id == Project.id, ApiKey.revoked_at.is_(None),
        or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > datetime.now(UTC)),
    ).scalar_subquery()
    with cli_database.session(settings) as session:
        rows = session.execute(select(Project, active_keys).order_by(Project.created_at,
                                                                     Project.name)).all()
    projects = [{"id": project.id, "name": project.name, "createdAt": iso(project.created_at),
                 "activeKeys": count} for project, count in rows]
    if args.json:
        print(json.dumps({"projects": projects}))
        return 0
    print(f"{'ID':36}  {'NAME':20}  {'CREATED':20}  ACTIVE KEYS")
    for row in projects:
        created = cli_output.short_time(row["createdAt"])
        print(f"{row['id']:36}  {row['name'][:20]:20}  {created:20}  {row['activeKeys']}")
    return 0


def cmd_projects_create(settings: Settings, args: argparse.Namespace) -> int:
    from hams.services import keys

    with cli_database.session(settings) as session:
        project = keys.create_project(session, args.name)
        print(json.dumps({"id": project.id, "name": project.name,
                          "webhookSecret": project.webhook_secret}))
    return 0


UNSET = object()


def _quota_value(text: str) -> float | None:
    """A quota on the command line: a number, or 'none' to clear it."""
    if text.lower() in ("none", "unlimited", "off"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or 'none'") from None
    if value < 0:
        raise argparse.ArgumentTypeError("a quota is 0 or more")
    return value


def cmd_projects_quota(settings: Settings, args: argparse.Namespace) -> int:
    from hams.services import keys, quotas

    given = {quotas.AUDIO_SECONDS: args.audio_seconds, quotas.TTS_CHARACTERS:
             args.tts_characters, quotas.TOKENS: args.tokens}
    changes = {q: None for q in quotas.QUOTAS} if args.clear else {}
    changes.update({q: value for q, value in given.items() if value is not UNSET})
    with cli_database.session(settings) as session:
        project = keys.find_project(session, args.name)
        quotas.set_quotas(session, project, changes)
        session.flush()
        report = quotas.quota_report(session, project)
    if args.json:
        print(json.dumps({"project": project.name, "projectId": project.id, "quotas": report}))
        return 0
    print(f"{'QUOTA':16}  {'USED THIS MONTH':>16}  {'LIMIT':>12}")
    for name, entry in report.items():
        limit = "unlimited" if entry["limit"] is None else f"{entry['limit']:g}"
        print(f"{name:16}  {entry['used']:>16g}  {limit:>12}")
    return 0


def cmd_usage(settings: Settings, args: argparse.Namespace) -> int:
    from hams.api.schemas.common import iso
    from hams.api.schemas.statistics import StatisticsNumbers  # the API's own figures
    from hams.services import keys, statistics

    within = statistics.period(args.start, args.end)
    with cli_database.session(settings) as session:
        if args.project:
            keys.find_project(session, args.project)  # an unknown name is an error
        rows = [{"projectId": project.id, "project": project.name,
                 **StatisticsNumbers.from_usage(usage).model_dump()}
                for project, usage in statistics.usage_report(session, within, args.project)]
    span = {"startPeriod": iso(within.start), "endPeriod": iso(within.end)}
    if args.json:
        print(json.dumps({**span, "projects": rows}))
        return 0
    print(f"usage from {span['startPeriod']} to {span['endPeriod']} (end excluded)")
    print(f"{'PROJECT':20}  {'REQUESTS':>8}  {'STT MIN':>10}  {'TTS CHARS':>10}  "
          f"{'TTS SEC':>9}  {'TOKENS':>9}  {'COST':>10}")
    for row in rows:
        print(f"{row['project'][:20]:20}  {row['requests']['value']:>8}  "
              f"{row['transcription']['value']:>10.2f}  {row['tts']['characters']:>10}  "
              f"{row['tts']['seconds']:>9.1f}  {row['tokens']['value']:>9}  "
              f"{row['price']['value']:>10.4f}")
    return 0


def cmd_keys_create(settings: Settings, args: argparse.Namespace) -> int:
    from hams.api.schemas.common import iso
    from hams.services import keys

    expires = datetime.fromisoformat(args.expires) if args.expires else None
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    with cli_database.session(settings) as session:
        if args.project == "default":
            keys.ensure_default_project(session)
        project = keys.find_project(session, args.project)
        key, secret = keys.create_key(session, project, args.name, expires)
        if args.json:
            print(json.dumps({"id": key.id, "key": secret, "projectId": project.id,
                              "projectName": project.name, "name": key.name,
                              "expiresAt": iso(key.expires_at)}))
        else:
            print(secret)
    return 0


def cmd_keys_list(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from hams.db.models import ApiKey, Project

    with cli_database.session(settings) as session:
        rows = session.execute(select(ApiKey, Project.name).join(
            Project, Project.id == ApiKey.project_id).order_by(ApiKey.created_at)).all()
        print(f"{'ID':36}  {'PROJECT':16}  {'NAME':16}  {'PREFIX':12}  STATE")
        for key, project_name in rows:
            state = "revoked" if key.revoked_at else (
                "expired" if key.expires_at and key.expires_at <= datetime.now(UTC) else "active")
            print(f"{key.id:36}  {project_name[:16]:16}  {(key.name or '')[:16]:16}  "
                  f"{key.prefix:12}  {state}")
    return 0


def cmd_keys_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from hams.services import keys

    with cli_database.session(settings) as session:
        key = keys.revoke_key(session, args.id)
        print(f"revoked {key.id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
