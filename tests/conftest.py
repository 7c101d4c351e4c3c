"""Shared fixtures: real servers on 127.0.0.1 and the CLI in a subprocess."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.pgserver import PgServer, require_bindir
from tests.servers import HttpServer, SmtpSink

DATA = Path(__file__).parent / "data"
SEED = DATA / "seed"
REPO = Path(__file__).parent.parent


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    """A real HTTP server on 127.0.0.1 (feeds, articles, webhook and Slack receiver)."""
    with HttpServer() as server:
        yield server


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A throwaway PostgreSQL server for the session (tests/pgserver.py), with a database
    ``test``; skipped without PostgreSQL, failed instead with ``CI=true``."""
    with PgServer(require_bindir()) as server:
        server.create_database("test")
        yield server


@pytest.fixture(scope="session")
def pg_url(pg_server: PgServer) -> str:
    """The libpq URL of the session's database ``test`` (unix socket, superuser)."""
    return pg_server.url("test")


_pg_db_numbers = itertools.count(1)


@pytest.fixture
def pg_db(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty database ``t_<n>`` for one test; its URL. Dropped afterwards
    (connections the test left open are ended)."""
    name = f"t_{next(_pg_db_numbers)}"
    url = pg_server.create_database(name)
    try:
        yield url
    finally:
        pg_server.drop_database(name)


@pytest.fixture
def expected() -> dict:
    """The acceptance examples of tests/data/seed/expected.yaml."""
    return yaml.safe_load((SEED / "expected.yaml").read_text())


def seed_feed(name: str, base_url: str) -> bytes:
    """A seed fixture feed with ``__BASE__`` filled in."""
    return (SEED / name).read_bytes().replace(b"__BASE__", base_url.encode())


def serve_seed(server: HttpServer, *names: str) -> dict[str, str]:
    """Serve seed feeds (and the article page) on ``server``; return feed name → URL."""
    urls = {}
    for name in names:
        server.route(f"/feeds/{name}", seed_feed(name, server.base_url))
        urls[name] = server.url(f"/feeds/{name}")
    server.route(
        "/news/2018/08/15/pompeo-may-be-returning.html", (SEED / "article.html").read_bytes()
    )
    return urls


def run_cli(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m monitor ARGS`` in a subprocess and capture its output."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_MONITOR")}
    full_env["PYTHONPATH"] = str(REPO)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def placeholder_feeds(folder: Path, *names: str) -> None:
    """Empty RSS files ``folder/NAME``: the ``file:`` feeds a ``check`` test's configs
    name, so that ``check`` (which warns of a feed file it cannot read) judges only
    what the test is about."""
    for name in names:
        (folder / name).write_text('<rss version="2.0"><channel></channel></rss>')


def write_config(path: Path, config: dict) -> Path:
    """Write a config dict as YAML to ``path``."""
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return path


def with_pool(coro_fn: Any, workers: int = 1, **options: Any) -> Any:
    """Run ``await coro_fn(pool)`` with a fresh ParsePool (closed afterwards)."""
    from monitor.ingest.workerpool import ParsePool

    async def go() -> Any:
        pool = ParsePool(workers, **options)
        try:
            return await coro_fn(pool)
        finally:
            await pool.close()

    return asyncio.run(go())
