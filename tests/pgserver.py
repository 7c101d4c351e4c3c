"""A throwaway PostgreSQL server for the test suite: started in a temp dir, then removed.

The server listens on a unix socket in its own temp dir only (``listen_addresses=''``),
so nothing is reachable from the network, and runs with ``fsync=off`` (its data is
thrown away anyway). Authentication is ``trust`` for the superuser ``postgres``: only
processes that can reach the 0700 temp dir can connect at all.

PostgreSQL refuses to run as root. Run as root (CI), the server binaries run as the
``postgres`` system user that Debian's package creates, and the temp dir is handed to
that user; run as a normal user, they run as that user. The test process connects as
the role ``postgres`` in both cases (root can reach any socket; a normal user owns it).

Server binaries are looked up in ``$PG_BINDIR``, then Debian's
``/usr/lib/postgresql/NN/bin`` (the highest NN), then ``PATH``.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import pytest

DEBIAN_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
SYSTEM_USER = "postgres"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PgServerError(RuntimeError):
    """The throwaway server could not be set up, started or stopped (message says why)."""


def candidate_bindirs() -> list[Path]:
    """Where to look for ``initdb`` and ``pg_ctl``, in order of preference.

    ``$PG_BINDIR`` first, then Debian's version directories from the newest major
    version down, then every directory on ``PATH`` that holds ``initdb``.
    """
    found: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        found.append(Path(os.environ["PG_BINDIR"]))
    if DEBIAN_ROOT.is_dir():
        versions = [p for p in DEBIAN_ROOT.iterdir() if p.name.isdigit()]
        found += [p / "bin" for p in sorted(versions, key=lambda p: int(p.name), reverse=True)]
    on_path = shutil.which("initdb")
    if on_path:
        found.append(Path(on_path).parent)
    return found


def find_bindir(candidates: Iterable[Path] | None = None) -> Path | None:
    """The first directory among ``candidates`` (default: :func:`candidate_bindirs`)
    holding executable ``initdb``, ``pg_ctl`` and ``psql``; None when there is none."""
    for bindir in candidate_bindirs() if candidates is None else candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "psql")):
            return bindir
    return None


def require_bindir(candidates: Iterable[Path] | None = None) -> Path:
    """The server binaries' directory, or end the test: skipped normally, failed in CI.

    The suite runs without PostgreSQL on a developer's machine (those tests are skipped),
    but ``.ci/run`` installs it, so with ``CI=true`` a missing server is an error.

    Raises:
        pytest.skip.Exception: no binaries found and ``CI`` is not ``true``.
        pytest.fail.Exception: no binaries found and ``CI=true``.
    """
    bindir = find_bindir(candidates)
    if bindir is not None:
        return bindir
    why = (
        "PostgreSQL not installed: no initdb/pg_ctl/psql in $PG_BINDIR, "
        f"{DEBIAN_ROOT}/NN/bin or PATH (apt-get install postgresql; .ci/run installs it)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(why + " [CI=true: a missing server fails the run]", pytrace=False)
    pytest.skip(why)


def _check_name(name: str) -> str:
    """``name`` if it is a plain lower-case SQL identifier, else ValueError."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a plain database name: {name!r}")
    return name


class PgServer:
    """One PostgreSQL server in a fresh temp dir; a context manager (start, then stop).

    Attributes:
        bindir: the directory of ``initdb``, ``pg_ctl``, ``psql``.
        base: the temp dir (socket, log, and ``data/``); None until started.
        run_as: the system user the server runs as, or None for this process's user.
    """

    def __init__(self, bindir: Path, *, start_timeout: float = 60) -> None:
        """Prepare a server from the binaries in ``bindir``; nothing runs yet.

        ``start_timeout`` (seconds) bounds each of initdb, start and stop.
        """
        self.bindir = bindir
        self.start_timeout = start_timeout
        self.base: Path | None = None
        self.run_as: str | None = None

    @property
    def socket_dir(self) -> Path:
        """The directory of the server's unix socket (the temp dir itself)."""
        if self.base is None:
            raise PgServerError("the server is not started")
        return self.base

    @property
    def data_dir(self) -> Path:
        """The server's data directory (``data/`` in the temp dir)."""
        return self.socket_dir / "data"

    def url(self, dbname: str = "postgres") -> str:
        """A libpq URL for database ``dbname`` over the unix socket, as the superuser.

        Raises:
            PgServerError: the server is not started.
        """
        host = quote(str(self.socket_dir), safe="")
        return f"postgresql:///{quote(dbname, safe='')}?host={host}&user={SUPERUSER}"

    def start(self) -> None:
        """Create the temp dir, run initdb, and start the server (returns once it accepts).

        Raises:
            PgServerError: running as root without a ``postgres`` system user, or
                initdb or ``pg_ctl start`` failed (their output and the log are included).
        """
        uid = None
        if os.geteuid() == 0:
            try:
                uid = pwd.getpwnam(SYSTEM_USER).pw_uid
            except KeyError:
                raise PgServerError(
                    f"running as root, and there is no {SYSTEM_USER!r} system user to run "
                    "PostgreSQL as (it refuses root); Debian's postgresql package creates it"
                ) from None
            self.run_as = SYSTEM_USER
        self.base = Path(tempfile.mkdtemp(prefix="pgtest-"))
        if uid is not None:
            os.chown(self.base, uid, -1)
        try:
            self._server_cmd(
                "initdb",
                "-D",
                str(self.data_dir),
                f"--username={SUPERUSER}",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            )
            settings = {
                "listen_addresses": "''",
                "unix_socket_directories": f"'{self.socket_dir}'",
                "unix_socket_permissions": "0700",
                "fsync": "off",
                "synchronous_commit": "off",
                "full_page_writes": "off",
                "max_connections": "100",
                "shared_buffers": "32MB",
            }
            conf = "".join(f"{key} = {value}\n" for key, value in settings.items())
            with (self.data_dir / "postgresql.conf").open("a") as f:
                f.write("\n# tests/pgserver.py\n" + conf)
            self._server_cmd(
                "pg_ctl",
                "start",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.socket_dir / "server.log"),
                "-w",
                "-t",
                str(int(self.start_timeout)),
            )
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server at once (``pg_ctl stop -m immediate``) and remove the temp dir.

        Safe to call twice and after a failed start.

        Raises:
            PgServerError: the server would not stop (the temp dir is removed anyway).
        """
        if self.base is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._server_cmd("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    def create_database(self, name: str) -> str:
        """``CREATE DATABASE name``; return its URL.

        Raises:
            ValueError: ``name`` is not a plain lower-case identifier.
            PgServerError: psql failed (its output is included).
        """
        self.sql(f"CREATE DATABASE {_check_name(name)}")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """``DROP DATABASE IF EXISTS name WITH (FORCE)``: connections still open are ended.

        Raises:
            ValueError: ``name`` is not a plain lower-case identifier.
            PgServerError: psql failed (its output is included).
        """
        self.sql(f"DROP DATABASE IF EXISTS {_check_name(name)} WITH (FORCE)")

    def sql(self, statement: str, dbname: str = "postgres") -> str:
        """Run one SQL statement with psql in ``dbname``; return what psql printed.

        Raises:
            PgServerError: psql failed (its output is included).
        """
        return self._run(
            [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
            + ["-d", self.url(dbname), "-c", statement],
            as_server=False,
        )

    def _server_cmd(self, tool: str, *args: str) -> str:
        """Run a server binary (as the server's user)."""
        return self._run([str(self.bindir / tool), *args], as_server=True)

    def _run(self, argv: list[str], *, as_server: bool) -> str:
        """Run ``argv``; as the server's user when ``as_server``; its stdout, or raise."""
        user = self.run_as if as_server else None
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        try:
            result = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                env=env,
                cwd=self.base or "/",
                timeout=self.start_timeout,
                user=user,
                group=user,
                extra_groups=[] if user else None,
            )
        except subprocess.TimeoutExpired as exc:
            raise PgServerError(f"{Path(argv[0]).name} timed out after {exc.timeout} s") from None
        except OSError as exc:  # not found, or not reachable by the server's user
            raise PgServerError(f"cannot run {argv[0]} as {user or 'this user'}: {exc}") from None
        if result.returncode != 0:
            log = ""
            if self.base is not None and (self.base / "server.log").exists():
                log = "\nserver.log:\n" + (self.base / "server.log").read_text(errors="replace")
            raise PgServerError(
                f"{Path(argv[0]).name} exited {result.returncode}:\n"
                f"{result.stdout}{result.stderr}{log}"
            )
        return result.stdout

    def __enter__(self) -> PgServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
