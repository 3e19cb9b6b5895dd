"""The ``paysim`` command: the server's ``serve``, ``migrate``, ``verify``, ``admin create`` and the
benchmarks, and beside them the client commands of :mod:`paysim_cli` (``login``, ``payments``, ``3ds``…)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from paysim import __version__
from paysim.config import ConfigError, Settings
from paysim.config_values import Declared, declared


def settings_for(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with the flags given on the command line taking precedence."""
    settings = Settings.from_env()
    changes = {d.name: getattr(args, d.name) for d in _flagged() if getattr(args, d.name, None)}
    return settings.with_overrides(**changes).checked() if changes else settings


def _flagged() -> list[Declared]:
    return [d for d in declared(Settings) if d.spec.flag is not None]


def _add_setting_flag(parser: argparse.ArgumentParser, name: str) -> None:
    """The flag that overrides setting ``name``, as its declaration in config.py describes it."""
    d = next(d for d in _flagged() if d.name == name)
    assert d.spec.flag is not None  # _flagged() holds flagged settings only
    if d.kind is bool:  # a switch: given, it turns the setting on
        parser.add_argument(
            d.spec.flag.name, dest=d.name, action="store_true", default=None, help=f"{d.spec.flag.help} ({d.env})"
        )
        return
    default = f", default {d.default}" if d.default != "" else ""
    parser.add_argument(
        d.spec.flag.name,
        dest=d.name,
        type=d.kind,
        help=f"{d.spec.flag.help} ({d.env}{default})",
    )


def _serve(settings: Settings) -> int:
    from paysim.app.tls import TransportError, server_credentials

    try:
        server_credentials(settings)  # checked once here, so that every worker can rely on it
    except TransportError as error:
        print(f"paysim: {error}.", file=sys.stderr)
        return 2
    if settings.workers > 1:
        from paysim.app.workers import WorkersError, run_workers

        try:
            return run_workers(settings)
        except WorkersError as error:
            print(f"paysim: {error}", file=sys.stderr)
            return 2
    from paysim.app.serve import serve

    return asyncio.run(serve(settings))


async def _migrate(settings: Settings) -> int:
    from paysim.app.adapters import database_limits
    from paysim.store import migrate
    from paysim.store.database import create_engine

    engine = create_engine(settings.effective_database_url, limits=database_limits(settings))
    try:
        await migrate.upgrade(engine)
        print(f"database at revision {await migrate.current_revision(engine)}")
    finally:
        await engine.dispose()
    return 0


async def _verify(settings: Settings) -> int:
    from paysim.app.adapters import database_limits
    from paysim.services.verification import verify_all
    from paysim.store.database import create_engine
    from paysim.store.unit_of_work import UnitOfWork

    engine = create_engine(settings.effective_database_url, limits=database_limits(settings))
    from paysim.cli_analytics import verify_read_model

    try:
        report = await verify_all(lambda: UnitOfWork(engine))
        for m in report.mismatches:
            fields = f" ({', '.join(m.fields)})" if m.fields else ""
            print(f"MISMATCH {m.payment_id}: {m.problem}{fields}")
        count = len(report.mismatches)
        verdict = "all projections match their events" if report.ok else f"{count} mismatch{'es' if count != 1 else ''}"
        print(f"checked {report.checked} payments ({report.snapshots_checked} from snapshots too): {verdict}")
        read_model_ok = await verify_read_model(engine)
    finally:
        await engine.dispose()
    return 0 if report.ok and read_model_ok else 1


def _database_name(settings: Settings) -> str:
    """The database a command works on, as a person would look for it (never its password)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        return f"the SQLite database {Path(url.database or '').resolve()}"
    return f"the database {url.render_as_string(hide_password=True)}"


def _sqlite_file(settings: Settings) -> Path | None:
    from sqlalchemy.engine import make_url

    url = make_url(settings.effective_database_url)
    return Path(url.database).resolve() if url.get_backend_name() == "sqlite" and url.database else None


async def _create_admin(settings: Settings, email: str, full_name: str, password: str) -> int:
    from paysim.app.bootstrap import bootstrap, ensure_admin

    database = _database_name(settings)
    sqlite_file = _sqlite_file(settings)
    new_database = sqlite_file is not None and not sqlite_file.exists()
    app = await bootstrap(settings)
    try:
        created = await ensure_admin(app, email, password, full_name)
    finally:
        await app.close()
    if not created:
        print(f"error: an account with the email {email} already exists in {database}", file=sys.stderr)
        return 1
    print(f"created admin {email} in {database}")
    if new_database:
        # Run from another directory, the default data directory (./.paysim) is a new one: say
        # so, or the admin would be looked for in vain in the server's database.
        print(
            "warning: that database did not exist before: a server sees this admin only with the same"
            " --data-dir (PAYSIM_DATA_DIR) or --database-url",
            file=sys.stderr,
        )
    return 0


def _admin_create(settings: Settings, args: argparse.Namespace) -> int:
    """``paysim admin create``, its failures as the client commands print them: ``error: …`` on
    stderr, exit 1 refused, 2 a wrong command line, 130 interrupted (paysim_cli.failures)."""
    from paysim_cli.app import honour_ctrl_c
    from paysim_cli.commands._common import read_password
    from paysim_cli.failures import EXIT_INTERRUPTED, EXIT_REFUSED, EXIT_USAGE, UsageError

    from paysim.domain.errors import DomainError, InvalidArgument
    from paysim.services.first_admin import check_admin

    honour_ctrl_c()
    try:
        password = read_password(args.password_stdin, confirm=True, prompt=f"Password for {args.email}: ")
        email = check_admin(args.email, password)
        return asyncio.run(_create_admin(settings, email, args.full_name, password))
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except InvalidArgument as error:
        print(f"error: invalid request (reason {error.reason})", file=sys.stderr)
        for v in error.violations:
            print(f"  {v.field}: {v.description} [{v.reason}]", file=sys.stderr)
        return EXIT_REFUSED
    except DomainError as error:
        print(f"error: {error.message} (reason {error.reason})", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # the database refusing, say: a sentence, not a traceback
        print(f"error: could not create the admin in {_database_name(settings)}: {error}", file=sys.stderr)
        return EXIT_REFUSED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paysim", description="A payment-platform simulator served over gRPC.")
    parser.add_argument("--version", action="version", version=f"paysim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        _add_setting_flag(p, "data_dir")
        _add_setting_flag(p, "database_url")

    serve = sub.add_parser("serve", help="run the gRPC server")
    _add_setting_flag(serve, "listen")
    _add_setting_flag(serve, "workers")
    for name in ("tls_cert", "tls_key", "tls_client_ca", "insecure"):
        _add_setting_flag(serve, name)
    _add_setting_flag(serve, "metrics_listen")
    _add_setting_flag(serve, "http_listen")
    common(serve)

    migrate = sub.add_parser("migrate", help="apply database migrations and exit")
    common(migrate)

    bench = sub.add_parser("bench", help="drive a running server with concurrent clients and print figures")
    from paysim import bench as bench_module

    bench_module.add_arguments(bench)

    bench_events = sub.add_parser(
        "bench-subscriptions", help="time from commit to the last of many event-stream subscribers (p50/p99)"
    )
    from paysim import bench_subscriptions

    bench_subscriptions.add_arguments(bench_events)

    verify = sub.add_parser(
        "verify", help="replay every payment's events and compare with its projection and the analytics read model"
    )
    common(verify)

    from paysim import bench_analytics, cli_analytics

    cli_analytics.add_commands(sub, common)
    bench_analytics.add_arguments(
        sub.add_parser("bench-analytics", help="time a 30-day hourly metrics query over many payments' buckets")
    )

    admin = sub.add_parser("admin", help="manage admin accounts")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_sub.add_parser(
        "create",
        help="create an admin account (prompts for the password)",
        description="Create an admin account in the database of --data-dir / --database-url (default ./.paysim).",
    )
    create.add_argument("--email", required=True)
    create.add_argument("--full-name", default="Administrator")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    common(create)

    import paysim_cli

    paysim_cli.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "cli_handler", None) is not None:
        import paysim_cli

        # A client command: it talks to a server, so nothing of the server's settings applies.
        return paysim_cli.run(args)
    try:
        settings = settings_for(args)
    except ConfigError as error:
        print(f"paysim: {error}", file=sys.stderr)
        return 2
    from paysim.app.logging_setup import configure

    # A person runs `admin create` and reads its sentence: the server's JSON lines are for `serve`.
    configure("WARNING" if args.command == "admin" else settings.log_level)
    if args.command == "serve":
        return _serve(settings)
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    if args.command == "bench":
        import grpc

        from paysim import bench as bench_module

        try:
            return bench_module.main(args)
        except grpc.RpcError as error:
            print(f"paysim bench: {error.code().name}: {error.details()}", file=sys.stderr)
            return 2
        except TimeoutError:
            print(f"paysim bench: no server answered at {args.target}", file=sys.stderr)
            return 2
    if args.command == "bench-subscriptions":
        import grpc

        from paysim import bench_subscriptions

        try:
            return bench_subscriptions.main(args)
        except grpc.RpcError as error:
            print(f"paysim bench-subscriptions: {error.code().name}: {error.details()}", file=sys.stderr)
            return 2
        except TimeoutError:
            print(f"paysim bench-subscriptions: no server answered at {args.target} in time", file=sys.stderr)
            return 2
    if args.command == "verify":
        return asyncio.run(_verify(settings))
    if args.command == "analytics":
        from paysim import cli_analytics

        return asyncio.run(cli_analytics.rebuild(settings))
    if args.command == "bench-analytics":
        from paysim import bench_analytics

        return bench_analytics.main(args)
    if args.command == "admin" and args.admin_command == "create":
        return _admin_create(settings, args)
    return 2


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
