"""The ``fediverse-intranet`` command: serve, migrate, worker, reindex and accounts."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from tortoise.exceptions import DBConnectionError, OperationalError

from fediverse_intranet import db, instance
from fediverse_intranet.errors import DomainError
from fediverse_intranet.settings import Settings, SettingsError, load_settings


async def _with_db(settings: Settings, work: Callable[[], Awaitable[int]]) -> int:
    from fediverse_intranet.composition import compose

    instance.configure(settings)
    compose()
    await db.connect(settings)
    try:
        return await work()
    finally:
        await db.disconnect()


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    ssl = {}
    if args.certfile or args.keyfile:
        if not (args.certfile and args.keyfile):
            raise SettingsError("--certfile and --keyfile go together")
        for option, path in (("--certfile", args.certfile), ("--keyfile", args.keyfile)):
            if not Path(path).is_file():
                raise SettingsError(f"{option} names {path}, which is not a readable file")
        ssl = {"ssl_certfile": args.certfile, "ssl_keyfile": args.keyfile}
    elif settings.tls_certfile:
        ssl = {"ssl_certfile": settings.tls_certfile, "ssl_keyfile": settings.tls_keyfile}
    uvicorn.run(
        "fediverse_intranet.app:create_app",
        factory=True,
        host=args.host or settings.bind_host,
        port=args.port or settings.bind_port,
        workers=args.workers,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        log_level="info",
        **ssl,
    )
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(db.migrate(settings.database_url))
    print("database is up to date")
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from fediverse_intranet import background

    async def work() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await background.run(stop)
        return 0

    with asyncio.Runner(loop_factory=_fast_loop_factory()) as runner:
        return runner.run(_with_db(settings, work))


def _fast_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (uvicorn's ``standard`` extra brings it, as ``serve``
    uses it): every database query hands work to aiosqlite's thread and back, and uvloop's
    wake-up across threads costs far less than the default loop's self-pipe."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def cmd_user_create(settings: Settings, args: argparse.Namespace) -> int:
    from fediverse_intranet.models import Role
    from fediverse_intranet.services import accounts

    async def work() -> int:
        account = await accounts.create_account(
            args.username,
            args.email,
            args.password,
            role=Role.ADMIN if args.admin else Role.MEMBER,
            display_name=args.display_name,
            reserved_ok=args.admin,
        )
        print(f"created @{args.username.lower()} ({account.role})")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_user_list(settings: Settings, args: argparse.Namespace) -> int:
    from fediverse_intranet.services import accounts

    async def work() -> int:
        for account in await accounts.list_accounts():
            state = "active" if account.is_active else "deactivated"
            print(f"{account.actor.username}\t{account.email}\t{account.role}\t{state}")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_reindex(settings: Settings, args: argparse.Namespace) -> int:
    """Rebuild the full-text index from the tables (after a restore or a bulk import)."""
    from fediverse_intranet.services import search_index

    async def work() -> int:
        posts, actors = await search_index.reindex_all()
        print(f"indexed {posts} posts and {actors} people and groups")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_rescore(settings: Settings, args: argparse.Namespace) -> int:
    """Recompute every expertise score (after an import, or to apply new weights at once)."""
    from fediverse_intranet.services import expertise

    async def work() -> int:
        print(f"rescored {await expertise.rescore_all()} people")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_prune_media(settings: Settings, args: argparse.Namespace) -> int:
    """Free the cache of remote media (run it from cron or a systemd timer)."""
    from datetime import timedelta

    from fediverse_intranet.services import remote_media

    async def work() -> int:
        files, freed = await remote_media.prune(timedelta(days=args.days))
        print(
            f"removed {files} remote files ({freed / 1e6:.1f} MB) kept more than {args.days} days"
        )
        return 0

    return asyncio.run(_with_db(settings, work))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="fediverse-intranet", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web server (with the worker inside)")
    serve.add_argument("--host", help="address to listen on (default FI_BIND_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (default FI_PORT)")
    serve.add_argument("--workers", type=int, default=1, help="web processes (default 1)")
    serve.add_argument(
        "--certfile",
        help="TLS certificate chain (PEM), to serve HTTPS without a proxy"
        " (default FI_TLS_CERTFILE)",
    )
    serve.add_argument("--keyfile", help="its private key (default FI_TLS_KEYFILE)")
    serve.set_defaults(run=cmd_serve)

    commands.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        run=cmd_migrate
    )
    commands.add_parser("worker", help="run the background worker alone").set_defaults(
        run=cmd_worker
    )

    commands.add_parser("reindex", help="rebuild the full-text search index").set_defaults(
        run=cmd_reindex
    )

    commands.add_parser("rescore", help="recompute all expertise scores").set_defaults(
        run=cmd_rescore
    )

    prune = commands.add_parser(
        "prune-media", help="delete cached remote media (fetched again when opened)"
    )
    prune.add_argument(
        "--days", type=int, default=30, help="older than this many days (default 30)"
    )
    prune.set_defaults(run=cmd_prune_media)

    user = commands.add_parser("user", help="manage accounts").add_subparsers(
        dest="user_command", required=True
    )
    create = user.add_parser("create", help="create an account")
    create.add_argument("username")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--display-name", default="")
    create.add_argument("--admin", action="store_true", help="make it an administrator")
    create.set_defaults(run=cmd_user_create)
    user.add_parser("list", help="list the accounts").set_defaults(run=cmd_user_list)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    try:
        settings = load_settings()
        return args.run(settings, args)
    except SettingsError as exc:
        print(f"fediverse-intranet: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"fediverse-intranet: {exc.message % exc.params}", file=sys.stderr)
        return 1
    except (OperationalError, DBConnectionError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(
            f"fediverse-intranet: database problem: {first_line}."
            " Check FI_DATABASE_URL and run `fediverse-intranet migrate` first.",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
