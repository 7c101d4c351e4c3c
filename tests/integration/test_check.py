"""`news-monitor check`: every mistake located as FILE:LINE:COL, exit 1; clean configs exit 0."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import placeholder_feeds, run_cli


@pytest.fixture(autouse=True)
def _feed_files(tmp_path: Path) -> None:
    placeholder_feeds(tmp_path, "feed.xml")


GOOD = """\
state_dir: ./state
feeds:
  - url: file:feed.xml
    name: sample
    interval: 90s
    tags: [korea]
rules:
  - name: pompeo
    query: 'Pompeo AND Pyongyang'
    notify: [console]
    feeds: [tag:korea]
channels:
  console: {type: console}
"""

CASES = [
    # (description, replace this, with this, expected "LINE:COL", message part)
    (
        "unknown key",
        "    interval: 90s\n",
        "    interval: 90s\n    intervall: 5m\n",
        "6:5",
        "unknown key 'intervall' (did you mean 'interval'?)",
    ),
    (
        "misspelt key in a channel",
        "  console: {type: console}",
        "  console: {type: console, schedul: immediate}",
        "13:28",
        "unknown key 'schedul' (did you mean 'schedule'?)",
    ),
    ("wrong type", "    tags: [korea]", "    tags: 5", "6:11", "valid list"),
    ("bad duration", "interval: 90s", "interval: 5 minutes", "5:15", "invalid duration"),
    (
        "unknown channel",
        "notify: [console]",
        "notify: [console, team-slack]",
        "10:23",
        "unknown channel 'team-slack'",
    ),
    (
        "rule syntax",
        "query: 'Pompeo AND Pyongyang'",
        "query: 'Pompeo AND (Pyongyang'",
        "9:24",
        "query column",
    ),
    (
        "unknown feed tag",
        "feeds: [tag:korea]",
        "feeds: [tag:japan]",
        "11:13",
        "unknown feed 'tag:japan'",
    ),
    ("channel type", "{type: console}", "{type: pager}", "13:12", "unknown channel type 'pager'"),
    (
        "bad cron",
        "{type: console}",
        "{type: console, schedule: 'cron: 99 * * * *'}",
        "13:38",
        "invalid cron expression",
    ),
    ("yaml syntax", "    name: sample\n", "    name: [sample\n", "5:13", "YAML syntax"),
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text)
    return path


def test_good_config_passes(tmp_path):
    result = run_cli("check", "--config", str(write(tmp_path, GOOD)), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("1 feed, 1 rule, 1 channel, 0 examples passed")


@pytest.mark.parametrize("name,old,new,where,message", CASES, ids=[c[0] for c in CASES])
def test_each_mistake_is_located(tmp_path, name, old, new, where, message):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    result = run_cli("check", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}:{where}: "), first
    assert message in first


def test_failing_rule_example_names_the_rule_line(tmp_path):
    text = GOOD.replace(
        "    feeds: [tag:korea]\n",
        "    feeds: [tag:korea]\n    examples:\n      match: ['Pompeo in Tokyo']\n"
        "      no_match: ['Pompeo flies to Pyongyang']\n",
    )
    result = run_cli("check", "--config", str(write(tmp_path, text)), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].endswith("example should match but does not: 'Pompeo in Tokyo'")
    assert ":13:" in lines[0] and ":14:" in lines[1]


def test_env_secret_files_and_includes(tmp_path):
    (tmp_path / "rules.d").mkdir()
    (tmp_path / "rules.d" / "korea.yaml").write_text(
        textwrap.dedent("""\
        rules:
          - name: from-include
            query: 'declaration AND'
        """)
    )
    (tmp_path / "hook.secret").write_text("whsec_c2VjcmV0\n")
    text = GOOD + textwrap.dedent("""\
          hook: {type: webhook, url: "${HOOK_URL}", secret_file: hook.secret}
        include: [rules.d/*.yaml]
        """)
    path = write(tmp_path, text)
    result = run_cli("check", "--config", str(path), cwd=tmp_path, env={"HOOK_URL": "http://x/"})
    assert result.returncode == 1
    assert result.stderr.startswith(f"{tmp_path / 'rules.d' / 'korea.yaml'}:3:")
    (tmp_path / "rules.d" / "korea.yaml").write_text("rules: [{name: ok, query: declaration}]\n")
    assert (
        run_cli(
            "check", "--config", str(path), cwd=tmp_path, env={"HOOK_URL": "http://x/"}
        ).returncode
        == 0
    )
    # check beside the unit: the service's environment and credentials are not ours
    unset = run_cli("check", "--config", str(path), cwd=tmp_path)
    assert unset.returncode == 0, unset.stderr
    assert f"{path}:14:30: warning: environment variable HOOK_URL is not set" in unset.stderr
    run = run_cli("run", "--once", "--config", str(path), cwd=tmp_path)
    assert run.returncode == 2 and f"{path}:14:30: environment variable HOOK_URL" in run.stderr
    (tmp_path / "hook.secret").unlink()
    gone = run_cli("check", "--config", str(path), cwd=tmp_path, env={"HOOK_URL": "http://x/"})
    assert gone.returncode == 0 and "warning: cannot read secret file hook.secret" in gone.stderr


def test_missing_config_file(tmp_path):
    result = run_cli("check", "--config", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert result.returncode == 1 and "config file not found" in result.stderr
    run = run_cli("run", "--once", "--config", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert run.returncode == 2 and "config file not found" in run.stderr


CLEAR_LOGIN = """\
feeds:
  - url: http://news.example/rss
rules:
  - {name: r, query: Pompeo}
channels:
  remote:
    type: email
    from: alerts@example.org
    to: [analyst@example.org]
    smtp: {host: smtp.example.org, port: 25, starttls: false, username: alerts,
           password: pw-of-alerts}
  relay:
    type: email
    from: alerts@example.org
    to: [analyst@example.org]
    smtp: {host: localhost, port: 25, starttls: false, username: alerts,
           password: pw-of-alerts}
  upgraded:
    type: email
    from: alerts@example.org
    to: [analyst@example.org]
    smtp: {host: smtp.example.org, username: alerts, password: pw-of-alerts}
"""


def test_a_login_without_tls_to_another_machine_is_warned_of(tmp_path):
    # AUTH PLAIN is base64 (RFC 4954 section 4): without TLS the password is readable
    # on the network (delivery-edge trial). A relay on this machine is not warned of.
    config = tmp_path / "monitor.yaml"
    config.write_text(CLEAR_LOGIN)
    result = run_cli("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "without TLS" in line]
    assert len(warnings) == 1, result.stderr
    assert (
        f"{config}:10:11: warning: channels.remote.smtp logs in to smtp.example.org"
        in (warnings[0])
    )
    assert "pw-of-alerts" not in result.stdout + result.stderr
