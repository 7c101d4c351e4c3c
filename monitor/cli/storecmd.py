"""``news-monitor store copy``: move the SQLite state into PostgreSQL, once (issue #17).

``store copy [--to URL] [--password-file FILE]`` copies the state under the config's
``state_dir`` (or ``--state-dir``) into an empty PostgreSQL database
(:mod:`monitor.store.copy`: migrated, one transaction, ids kept). The URL is ``--to``,
else the config's ``store: url``; it never holds a password (refused without echoing
it). The password comes from ``--password-file``, else the config's ``store:``
(``password_file`` or ``${ENV}``), else libpq's own means (``PGPASSWORD``,
``~/.pgpass``, peer authentication); it is never printed. ``copying …`` is printed
only once every check has passed (the state lock, the state, an empty target), so a
refusal is its reason alone.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.config import MonitorConfig
from monitor.errors import MonitorError

PROGRESS_EVERY = 100_000  # rows of one table between "so far" lines


def add_store_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``store copy`` and its options on the CLI's subcommand parsers."""
    store = sub.add_parser("store", help="move the state into PostgreSQL (store copy)")
    actions = store.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    copy = actions.add_parser(
        "copy",
        parents=[common],
        help="copy the SQLite state into an empty PostgreSQL database",
        description="Copy the SQLite state (state_dir/monitor.db) into an empty PostgreSQL"
        " database, in one transaction. No daemon may run on the state meanwhile.",
    )
    copy.add_argument(
        "--to",
        metavar="URL",
        help="postgresql://USER@HOST/DBNAME, no password (default: the config's store: url)",
    )
    copy.add_argument(
        "--password-file",
        metavar="FILE",
        help="the database password (default: the config's store: password, else"
        " PGPASSWORD or ~/.pgpass)",
    )


def cmd_store(args: argparse.Namespace, config: MonitorConfig) -> int:
    """``store ACTION``: only ``copy`` so far. Exit 0 when copied; raises MonitorError
    (exit 2) when refused or failed, with nothing written."""
    if args.store_command != "copy":  # argparse allows no other
        raise MonitorError(f"unknown store action {args.store_command!r}")
    return _copy(args, config)


def _copy(args: argparse.Namespace, config: MonitorConfig) -> int:
    from monitor.config.store import (
        POSTGRESQL_INSTALL_HINT,
        StorePasswordError,
        postgresql_available,
    )
    from monitor.store.copy import copy_state
    from monitor.store.sqlite import DB_NAME

    if not postgresql_available():
        raise MonitorError(f"store copy needs the psycopg package: {POSTGRESQL_INSTALL_HINT}")
    url = _target_url(args, config)
    password = _password(args, config)
    if password is not None:
        try:
            password()  # an unreadable --password-file is named now, before anything
        except StorePasswordError as exc:
            raise MonitorError(str(exc)) from None
    source, target = config.state_dir / DB_NAME, _shown(url)

    def announce() -> None:  # every check passed (lock, state, target empty): now say so
        print(f"copying {source} into {target}", flush=True)

    result = copy_state(
        config.state_dir, url, password, progress=_print_progress, on_start=announce
    )
    total = sum(result.rows.values())
    print(
        f"copied {total:,} rows in {len(result.rows)} tables into {result.target}"
        f" in {result.seconds:.1f} s (ids kept; new ids continue past the highest)"
    )
    print(
        "next: point every instance's config at it (store: url, password_file), then start"
        f" them; keep {DB_NAME} as a backup and run no daemon on it again"
    )
    return 0


def _target_url(args: argparse.Namespace, config: MonitorConfig) -> str:
    """``--to``, else the config's ``store: url``; checked (no password: refused
    without showing it). Raises MonitorError."""
    from monitor.config.store import check_store_url

    if not args.to:
        if config.store is None:
            raise MonitorError("store copy: give --to URL (or store: url in the config)")
        return config.store.url
    try:
        return check_store_url(args.to)
    except ValueError as exc:
        if "password" in str(exc):
            raise MonitorError(
                "--to: a password in the URL is refused (value not shown): give it with"
                " --password-file FILE, the config's store: password, or PGPASSWORD"
                " or ~/.pgpass"
            ) from None
        raise MonitorError(f"--to: {exc}") from None


def _password(args: argparse.Namespace, config: MonitorConfig) -> Callable[[], str | None] | None:
    """The password for each connection: ``--password-file`` (read again per
    connection), else the config's ``store:``, else None (libpq's own means)."""
    from monitor.config.store import StoreSettings

    if args.password_file:
        path = Path(args.password_file).absolute()
        return StoreSettings(url="postgresql://h/d", password_file=path).password_reader()
    if config.store is not None:
        return config.store.password_reader()
    return None


def _shown(url: str) -> str:
    """The target as a message may name it: database and host, never a password."""
    from monitor.store.postgres import check_url, describe

    return describe(check_url(url))


def _print_progress(table: str, rows: int, finished: bool) -> None:
    if finished:
        print(f"  {table}: {rows:,} row{'' if rows == 1 else 's'}", flush=True)
    elif rows % PROGRESS_EVERY == 0:
        print(f"  {table}: {rows:,} rows so far", flush=True)
