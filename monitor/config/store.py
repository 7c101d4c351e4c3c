"""The ``store:`` section: state in a shared PostgreSQL instead of SQLite (issue #17).

Without ``store:`` the state stays in ``state_dir/monitor.db`` (SQLite), as it always
was. With it, every instance that names the same database shares the work
(docs/configuration.md, *Store*; docs/design/SCALEOUT.md). This module only reads and
checks the section: the PostgreSQL store itself lives with the other stores.

The password never sits in the URL (refused, without echoing it): it comes from
``password_file`` (re-read for every new connection, so it can rotate without a
restart: :meth:`StoreSettings.password_reader`), ``password: ${ENV}``, or libpq's own
means (``~/.pgpass``, peer authentication) when neither is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

from pydantic import AfterValidator, ConfigDict, Field, SecretStr

from monitor.config.boundedfile import read_regular_file
from monitor.config.source import MAX_SECRET_BYTES, Source
from monitor.config.values import Duration, Strict
from monitor.errors import ConfigIssue
from monitor.redact import redact_secrets, register_secrets
from monitor.terminal import printable

SCHEMES = ("postgresql", "postgres")
MIN_LEASE = timedelta(seconds=10)
MAX_LEASE = timedelta(minutes=10)
POSTGRESQL_INSTALL_HINT = "install the extra: pip install 'news-monitor[postgresql]'"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")


class StorePasswordError(OSError):
    """The store's ``password_file`` could not be read again (missing, not a regular
    file, over 64 KiB, not UTF-8). The message names the file, never its content."""


def check_store_url(value: str) -> str:
    """``value`` if it is a usable libpq URL for the store, else ValueError.

    Required: the ``postgresql://`` or ``postgres://`` scheme, a host (in the URL or as
    ``?host=``, e.g. a unix socket directory) and a database name (the path or
    ``?dbname=``). Refused: any password in it (``user:pw@`` or a ``password``-like
    query option). Query options (``sslmode=verify-full``) are kept as written. No
    message ever shows the value: it may hold the password it is refused for.
    """
    text = value.strip()
    scheme, sep, _ = text.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        given = f" (not {scheme.lower()}://)" if sep and _SCHEME.fullmatch(scheme) else ""
        raise ValueError(
            f"must start with postgresql:// or postgres://{given};"
            " SQLite, the default, needs no store: section (state in state_dir/monitor.db)"
        )
    try:
        parts = urlsplit(text)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError("does not parse as a URL (value not shown)") from None
    userinfo = parts.netloc.rpartition("@")[0]
    if ":" in userinfo or any("password" in key.lower() for key in query):
        raise ValueError(
            "a password in the URL is refused (value not shown): put it in"
            " password_file or ${ENV}, e.g. password: ${DB_PASSWORD}"
        )
    if not (parts.hostname or query.get("host") or query.get("hostaddr")):
        raise ValueError(
            "no host: write postgresql://USER@HOST/DBNAME"
            " (or ?host=/run/postgresql for a unix socket)"
        )
    if not (parts.path.strip("/") or query.get("dbname")):
        raise ValueError("no database name: write postgresql://USER@HOST/DBNAME")
    return text


def _lease_bounds(value: timedelta) -> timedelta:
    if not MIN_LEASE <= value <= MAX_LEASE:
        seconds = f"{value.total_seconds():g}s"
        raise ValueError(f"lease {seconds} is out of range: use 10s to 10m")
    return value


class StoreSettings(Strict):
    """Where the state lives when it is not SQLite: a PostgreSQL database.

    ``url`` is a libpq URL without a password; ``password`` the one read at load
    (from ``password_file`` or ``${ENV}``), or None for libpq's own means;
    ``password_file`` the absolute name of the file it came from, if any;
    ``pool_size`` connections per instance (1–100); ``lease`` how long a claim on a
    feed or channel lasts without renewal (10 s–10 min, renewed every lease/3).
    """

    # a URL refused for its password must not come back in str(ValidationError)
    model_config = ConfigDict(hide_input_in_errors=True)

    url: Annotated[str, AfterValidator(check_store_url)]
    password: SecretStr | None = None
    password_file: Path | None = None
    pool_size: int = Field(default=10, ge=1, le=100)
    lease: Annotated[Duration, AfterValidator(_lease_bounds)] = timedelta(seconds=60)

    @property
    def shown_url(self) -> str:
        """The URL as ``check`` and ``status`` may show it: user, host, database and
        options (it holds no password: :func:`check_store_url` refuses one)."""
        return printable(redact_secrets(self.url))

    def password_reader(self) -> Callable[[], str | None]:
        """A function giving the password for each new connection.

        With ``password_file``, every call reads the file again (a regular file of
        at most 64 KiB, trailing whitespace removed), so a rotated password is used
        by the next connection without a restart; each value read is registered
        for redaction (monitor.redact) before it is returned. The call raises
        :class:`StorePasswordError` when the file cannot be read. With ``password``
        alone (``${ENV}``, read at load), every call returns it; with neither, None
        (libpq then uses ``~/.pgpass``, ``PGPASSWORD`` or peer authentication).

        With psycopg_pool 3.3+ (``kwargs`` may be a callable, called per connection)::

            read = store.password_reader()
            pool = ConnectionPool(store.url, max_size=store.pool_size,
                                  kwargs=lambda: {} if (pw := read()) is None else {"password": pw})
        """
        if self.password_file is not None:
            return _FileReader(self.password_file)
        fixed = self.password.get_secret_value() if self.password is not None else None
        return lambda: fixed


class _FileReader:
    """Reads the store's password file on each call (see password_reader)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self) -> str:
        try:
            text = read_regular_file(self.path, MAX_SECRET_BYTES).decode("utf-8").strip()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            message = f"cannot read store password file {self.path}: {reason}"
            raise StorePasswordError(message) from None
        except UnicodeDecodeError:
            raise StorePasswordError(f"store password file {self.path}: not UTF-8 text") from None
        register_secrets([text])
        return text


def postgresql_available() -> bool:
    """Whether the ``psycopg`` package (the ``postgresql`` extra) is installed and imports."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return False
    return True


def store_checks(store: StoreSettings | None, source: Source) -> list[ConfigIssue]:
    """Problems with a valid ``store:`` that only the whole setup shows: the
    ``postgresql`` extra not installed (an error: ``run`` could not open the store),
    a password that is empty (a ``${ENV}`` set to nothing, an empty file). The password
    itself is never shown; one this process could not read is not judged again."""
    if store is None:
        return []
    issues = []
    if not postgresql_available():
        message = f"store: PostgreSQL needs the psycopg package: {POSTGRESQL_INSTALL_HINT}"
        issues.append(source.issue(("store", "url"), message))
    path = ("store", "password")
    password = store.password.get_secret_value() if store.password is not None else None
    at = source.locate(path)
    reported = any((i.file, i.line, i.col) == (at.file, at.line, at.col) for i in source.problems)
    if password == "" and path not in source.unread and not reported:  # not set, unreadable
        refs = source.env_refs.get(path)
        hint = f" (is the environment variable {', '.join(refs)} set?)" if refs else ""
        message = f"store.password is empty{hint}"
        if store.password_file is not None:
            message = f"store password file {store.password_file} is empty"
        issues.append(source.issue(path, message))
    return issues
