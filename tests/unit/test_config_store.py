"""The ``store:`` section (issue 17): URL rules, password sources, bounds, the extra.

Every case loads a real config file through :func:`monitor.config.inspect`, as ``check``
and ``run`` do, and looks at the ``FILE:LINE:COL`` issues. The canary password must
never appear in an issue, a repr or a validation error.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from monitor.config import StoreSettings, inspect
from monitor.config.source import MAX_SECRET_BYTES
from monitor.config.store import StorePasswordError
from monitor.redact import redact_secrets

CANARY = "Canary-pw-7f3a9c"
URL = "postgresql://news-monitor@db1.internal/news_monitor?sslmode=verify-full"


FEED = 'feeds: [{url: "file:feed.xml"}]\n'


def load(tmp_path: Path, store: str, secrets: str = "required"):
    """``inspect`` a config holding ``store`` (YAML lines under ``store:``) and a feed
    (without one, ``inspect`` warns "no feeds configured")."""
    path = tmp_path / "monitor.yaml"
    path.write_text("state_dir: ./state\nstore:\n" + store + FEED)
    return inspect(path, secrets)  # type: ignore[arg-type]


def messages(found) -> list[str]:
    return [str(issue) for issue in found.errors]


def only_error(found) -> str:
    (issue,) = found.errors
    assert CANARY not in str(issue)
    return str(issue)


def test_without_store_the_state_stays_in_sqlite(tmp_path):
    path = tmp_path / "monitor.yaml"
    path.write_text("state_dir: ./state\n")
    found = inspect(path)
    assert found.errors == [] and found.config is not None
    assert found.config.store is None


def test_the_documented_example_loads_with_its_password_file(tmp_path, monkeypatch):
    (tmp_path / "db-password").write_text(CANARY + "\n")
    monkeypatch.chdir(tmp_path)  # a relative password_file is kept as an absolute name
    found = load(
        tmp_path,
        f"  url: {URL}\n  password_file: db-password\n  pool_size: 20\n  lease: 2m\n",
    )
    assert found.errors == []
    store = found.config.store
    assert isinstance(store, StoreSettings)
    assert store.url == URL  # the query (sslmode) kept as written
    assert store.password.get_secret_value() == CANARY
    assert store.password_file == tmp_path / "db-password"
    assert (store.pool_size, store.lease) == (20, timedelta(minutes=2))
    assert CANARY not in repr(store) and CANARY not in str(found.config)
    assert redact_secrets(f"login {CANARY} failed") == "login *** failed"
    assert store.shown_url == URL


def test_defaults_pool_10_lease_60s_and_no_password(tmp_path):
    found = load(tmp_path, "  url: postgres://db1.internal/news_monitor\n")
    store = found.config.store
    assert found.errors == [] and store.password is None and store.password_file is None
    assert (store.pool_size, store.lease) == (10, timedelta(seconds=60))
    assert store.password_reader()() is None  # libpq's own: ~/.pgpass, peer


@pytest.mark.parametrize(
    "url",
    [
        "postgresql:///news?host=%2Frun%2Fpostgresql&user=postgres",  # unix socket (tests)
        "postgresql://db1.internal:5433?dbname=news",
        "POSTGRESQL://u@[::1]:5432/news",
    ],
)
def test_host_and_database_may_come_from_the_query_or_any_form(tmp_path, url):
    found = load(tmp_path, f'  url: "{url}"\n')
    assert found.errors == [] and found.config.store.url == url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///var/monitor.db", "(not sqlite://); SQLite, the default, needs no store:"),
        ("mysql://u@h/db", "must start with postgresql:// or postgres:// (not mysql://)"),
        ("db1.internal/news", "must start with postgresql:// or postgres://;"),
        ("postgresql:///news", "no host: write postgresql://USER@HOST/DBNAME"),
        ("postgresql://db1.internal", "no database name: write postgresql://USER@HOST/DBNAME"),
        ("postgresql://db1.internal:port/news", "does not parse as a URL (value not shown)"),
    ],
)
def test_url_errors_are_one_located_line(tmp_path, url, expected):
    error = only_error(load(tmp_path, f'  pool_size: 5\n  url: "{url}"\n'))
    assert error.startswith(f"{tmp_path / 'monitor.yaml'}:4:8: store.url: ")
    assert expected in error


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://news-monitor:{CANARY}@db1.internal/news",
        f"postgresql://news-monitor:{CANARY}@with@db1.internal/news",
        f"postgresql://db1.internal/news?sslmode=require&password={CANARY}",
        f"postgresql://db1.internal/news?sslpassword={CANARY}",
        f"mysql://u:{CANARY}@db1.internal/news",
        f"u:{CANARY}@db1.internal/news",
    ],
)
def test_a_password_in_the_url_is_refused_without_echoing_it(tmp_path, url):
    found = load(tmp_path, f'  url: "{url}"\n')
    error = only_error(found)
    assert error.startswith(f"{tmp_path / 'monitor.yaml'}:3:8: store.url: ")
    assert CANARY not in repr(found.config)


def test_the_password_refusal_says_where_it_belongs(tmp_path):
    error = only_error(load(tmp_path, f"  url: postgresql://u:{CANARY}@h/db\n"))
    assert error.endswith(
        "store.url: a password in the URL is refused (value not shown): "
        "put it in password_file or ${ENV}, e.g. password: ${DB_PASSWORD}"
    )


def test_a_password_from_env_in_the_url_is_refused_too(tmp_path, monkeypatch):
    monkeypatch.setenv("DB_PASSWORD", CANARY)
    error = only_error(load(tmp_path, "  url: postgresql://u:${DB_PASSWORD}@h/db\n"))
    assert "a password in the URL is refused" in error


def test_a_store_built_in_code_does_not_echo_the_url_in_its_error():
    with pytest.raises(ValidationError) as caught:
        StoreSettings(url=f"postgresql://u:{CANARY}@h/db")
    assert CANARY not in str(caught.value) and CANARY not in repr(caught.value)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("pool_size: 0", "3:14: store.pool_size: Input should be greater than or equal to 1"),
        ("pool_size: 101", "3:14: store.pool_size: Input should be less than or equal to 100"),
        ("lease: 9s", "3:10: store.lease: lease 9s is out of range: use 10s to 10m"),
        ("lease: 10m1s", "3:10: store.lease: lease 601s is out of range: use 10s to 10m"),
        ("lease: 60", "3:10: store.lease: 60 is not a duration: write 60s, 60m, 60h or 60d"),
        ("sslmode: require", "3:3: unknown key 'sslmode'"),
    ],
)
def test_bounds_and_keys(tmp_path, line, expected):
    found = load(tmp_path, f"  {line}\n  url: {URL}\n")
    assert only_error(found).endswith(expected)
    assert found.config.store is None  # set aside whole: no false "missing url"


@pytest.mark.parametrize(
    ("line", "value"),
    [("pool_size: 1", 1), ("pool_size: 100", 100), ("lease: 10s", 10), ("lease: 10m", 600)],
)
def test_bounds_are_inclusive(tmp_path, line, value):
    store = load(tmp_path, f"  url: {URL}\n  {line}\n").config.store
    assert value in (store.pool_size, store.lease.total_seconds())


def test_password_and_password_file_not_both(tmp_path):
    (tmp_path / "pw").write_text(CANARY)
    found = load(tmp_path, f"  url: {URL}\n  password: other-pw\n  password_file: {tmp_path}/pw\n")
    assert only_error(found).endswith(":5:3: password and password_file are both set: keep one")


def test_a_channel_secret_and_its_file_not_both_either(tmp_path):
    (tmp_path / "smtp").write_text(CANARY)
    path = tmp_path / "monitor.yaml"
    smtp = f"    smtp: {{host: h, password_file: {tmp_path}/smtp, password: other-pw}}\n"
    path.write_text(
        "channels:\n  mail:\n    type: email\n    from: a@example.org\n    to: [b@example.org]\n"
        + smtp
    )
    (issue,) = inspect(path).errors
    col = smtp.index("password:") + 1
    assert str(issue).endswith(f":6:{col}: password_file and password are both set: keep one")


def test_password_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DB_PASSWORD", CANARY)
    found = load(tmp_path, f"  url: {URL}\n  password: ${{DB_PASSWORD}}\n")
    store = found.config.store
    assert found.errors == [] and store.password_file is None
    assert store.password_reader()() == CANARY


def test_an_unset_or_empty_env_password(tmp_path, monkeypatch):
    monkeypatch.delenv("DB_PASSWORD", raising=False)
    text = f"  url: {URL}\n  password: ${{DB_PASSWORD}}\n"
    assert only_error(load(tmp_path, text)).endswith(
        ":4:13: environment variable DB_PASSWORD is not set"
    )
    optional = load(tmp_path, text, secrets="optional")  # check from an admin shell
    assert optional.errors == [] and len(optional.warnings) == 1
    monkeypatch.setenv("DB_PASSWORD", "")
    assert only_error(load(tmp_path, text)).endswith(
        ":4:13: store.password is empty (is the environment variable DB_PASSWORD set?)"
    )


def test_password_file_is_bounded_like_every_secret(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "big").write_bytes(b"x" * (MAX_SECRET_BYTES + 1))
    (tmp_path / "empty").write_text("\n")
    for name, expected in [
        ("fifo", "not a regular file (a FIFO)"),
        ("big", f"larger than {MAX_SECRET_BYTES} bytes"),
        ("empty", f"store password file {tmp_path}/empty is empty"),
    ]:
        found = load(tmp_path, f"  url: {URL}\n  password_file: {tmp_path}/{name}\n")
        assert expected in only_error(found), name


def test_a_missing_password_file_is_a_warning_for_check_only(tmp_path):
    text = f"  url: {URL}\n  password_file: /run/credentials/nm.service/db-password\n"
    assert "cannot read secret file" in only_error(load(tmp_path, text))
    found = load(tmp_path, text, secrets="optional")
    assert found.errors == [] and "the service reads it at start" in str(found.warnings[0])
    assert found.config.store.password_file == Path("/run/credentials/nm.service/db-password")


def test_the_password_reader_rereads_the_file_for_rotation(tmp_path):
    secret = tmp_path / "db-password"
    secret.write_text("first-password\n")
    store = load(tmp_path, f"  url: {URL}\n  password_file: {secret}\n").config.store
    read = store.password_reader()
    assert read() == "first-password"
    secret.write_text(CANARY + "\n")  # rotated while running
    assert read() == CANARY
    assert redact_secrets(f"auth {CANARY}") == "auth ***"  # the new one is masked too
    secret.unlink()
    with pytest.raises(StorePasswordError) as caught:
        read()
    assert str(caught.value) == (
        f"cannot read store password file {secret}: No such file or directory"
    )


def test_without_the_postgresql_extra_check_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` raises ImportError
    error = only_error(load(tmp_path, f"  url: {URL}\n"))
    assert error.endswith(
        ":3:8: store: PostgreSQL needs the psycopg package: "
        "install the extra: pip install 'news-monitor[postgresql]'"
    )
    path = tmp_path / "monitor.yaml"
    path.write_text("state_dir: ./state\n")
    assert inspect(path).errors == []  # SQLite needs no extra
