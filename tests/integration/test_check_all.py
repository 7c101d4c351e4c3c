"""`check` reports every mistake in one run (issue #15 point 4), and tolerates
secrets it cannot read where the service can (point 2): the CLI in a subprocess."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import placeholder_feeds, run_cli


@pytest.fixture(autouse=True)
def _feed_files(tmp_path: Path) -> None:
    placeholder_feeds(tmp_path, "feed.xml", "fast.xml", "other.xml")


GOOD = """\
state_dir: ./state
feeds:
  - url: file:feed.xml
    name: sample
    tags: [korea]
rules:
  - name: pompeo
    query: 'Pompeo AND Pyongyang'
    notify: [console]
    feeds: [tag:korea]
channels:
  console: {type: console}
"""

FEED_2 = "    tags: [korea]\n"  # the line after which a second feed is added
RULE_2 = "    feeds: [tag:korea]\n"  # the line after which a second rule is added
CHANNEL_2 = "  console: {type: console}\n"

# (id, replace this, with this, expected "LINE:COL", message part)
CASES = [
    (
        "bare number",
        "    name: sample\n",
        "    name: sample\n    interval: 10\n",
        "5:15",
        "10 is not a duration: write 10s, 10m",
    ),
    (
        "public feed hammered",
        "  - url: file:feed.xml\n    name: sample\n",
        "  - url: https://news.example/rss\n    name: sample\n    interval: 1s\n",
        "5:15",
        "interval 1s for feed 'sample' is shorter than 1m",
    ),
    (
        "adaptive_min too short for a public feed",
        "state_dir: ./state\nfeeds:\n  - url: file:feed.xml\n",
        "state_dir: ./state\ndefaults: {adaptive: true, adaptive_min: 5s}\n"
        "feeds:\n  - url: https://news.example/rss\n",
        "2:42",
        "defaults.adaptive_min 5s is shorter than 1m: adaptive feed 'sample'",
    ),
    ("zero interval", "    name: sample\n", "    name: sample\n    interval: 0s\n", "5:15", "0s"),
    (
        "empty slack URL",
        CHANNEL_2,
        CHANNEL_2 + '  team: {type: slack, webhook_url: "${SLACK_URL}"}\n',
        "13:36",
        "channels.team.webhook_url is empty (is the environment variable SLACK_URL set?)",
    ),
    (
        "scheme-less webhook URL",
        CHANNEL_2,
        CHANNEL_2 + "  hook: {type: webhook, url: hooks.example.com/T1/x}\n",
        "13:30",
        "channels.hook.url is not an http:// or https:// URL",
    ),
    (
        "private feed address",
        "url: file:feed.xml",
        "url: http://192.168.1.10/rss",
        "3:10",
        "192.168.1.10 is a private address: `run` refuses it unless allow_private_networks: true",
    ),
    (
        "localhost feed",
        "url: file:feed.xml",
        "url: http://localhost:8080/rss",
        "3:10",
        "localhost is a loopback name: `run` refuses it unless allow_private_networks",
    ),
    (
        "state_dir cannot be created",
        "state_dir: ./state",
        "state_dir: ./blocker/state",
        "1:12",
        "state_dir blocker/state cannot be created: ",
    ),
    (
        "same feed URL twice",
        FEED_2,
        FEED_2 + "  - url: file:feed.xml\n    name: copy\n",
        "6:10",
        "feed URL file:feed.xml is listed twice (first at {config}:3)",
    ),
    (
        "same feed name twice",
        FEED_2,
        FEED_2 + "  - url: file:other.xml\n    name: sample\n",
        "7:11",
        "feed name 'sample' is used twice (first at {config}:4)",
    ),
    (
        "tags differing in case",
        FEED_2,
        FEED_2 + "  - url: file:other.xml\n    tags: [Korea]\n",
        "7:12",
        "tag 'Korea' differs from tag 'korea' only in case",
    ),
    (
        "unknown tag lists the known ones",
        "feeds: [tag:korea]",
        "feeds: [tag:japan]",
        "10:13",
        "unknown feed 'tag:japan' (tags: korea)",
    ),
    (
        "duplicate rule name at the second one",
        RULE_2,
        RULE_2 + "  - name: pompeo\n    query: Kim\n",
        "11:11",
        "rule name 'pompeo' is used twice (first at {config}:7)",
    ),
]


def write(tmp_path: Path, text: str, name: str = "monitor.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "before,after,where,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_mistake_is_caught_by_check(tmp_path, before, after, where, message):
    assert before in GOOD
    (tmp_path / "blocker").write_text("a file where state_dir needs a folder\n")
    path = write(tmp_path, GOOD.replace(before, after))
    result = run_cli("check", "--config", str(path), cwd=tmp_path, env={"SLACK_URL": ""})
    assert result.returncode == 1, result.stdout
    expected = f"{path}:{where}: "
    lines = result.stderr.splitlines()
    assert any(
        line.startswith(expected) and message.format(config=path) in line for line in lines
    ), result.stderr
    assert "Traceback" not in result.stderr


def test_the_good_config_passes(tmp_path):
    result = run_cli("check", "--config", str(write(tmp_path, GOOD)), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "state").exists()  # check creates no state


MAIN = """\
state_dir: ./blocker/state
include: [rules.d/*.yaml]
defaults:
  interval: 10
feeds:
  - url: https://news.example/rss
    name: wire
    interval: 1s
    tags: [Korea]
  - url: http://127.0.0.1:8080/feed.xml
    name: wire
    tags: [korea]
rules:
  - name: pompeo
    query: 'Pompeo AND (Pyongyang'
    notify: [console, pager]
    feeds: [tag:japan]
channels:
  console: {type: console}
  team: {type: slack, webhook_url: "${SLACK_URL}"}
  archive: {type: webhook, url: archive.example/hook}
"""

INCLUDED = """\
rules:
  - name: pompeo
    query: Kim
  - name: loose
    query: x
    urgent: maybe
"""


def test_every_mistake_of_main_file_and_include_in_one_run(tmp_path):
    """Issue #15: seven mistakes took three runs. Now: one run, every stage that can
    run (validation, variables, feeds, rule syntax, references, state_dir), sorted."""
    (tmp_path / "blocker").write_text("")
    (tmp_path / "rules.d").mkdir()
    included = write(tmp_path, INCLUDED, "rules.d/korea.yaml")
    path = write(tmp_path, MAIN)
    result = run_cli("check", "--config", str(path), cwd=tmp_path, env={"SLACK_URL": ""})
    assert result.returncode == 1
    expected = [
        (path, "1:12", "state_dir blocker/state cannot be created"),
        (path, "4:13", "10 is not a duration"),
        (path, "8:15", "interval 1s for feed 'wire' is shorter than 1m"),
        (path, "10:10", "127.0.0.1 is a loopback address: `run` refuses it unless allow_private"),
        (path, "11:11", "feed name 'wire' is used twice"),
        (path, "12:12", "tag 'korea' differs from tag 'Korea' only in case"),
        (path, "15:24", "rule 'pompeo': unclosed '(' (query column 12)"),
        (path, "16:23", "rule 'pompeo' notifies unknown channel 'pager'"),
        (path, "17:13", "unknown feed 'tag:japan' (tags: Korea, korea)"),
        (path, "20:36", "channels.team.webhook_url is empty (is the environment variable"),
        (path, "21:33", "channels.archive.url is not an http:// or https:// URL"),
        (included, "2:11", f"rule name 'pompeo' is used twice (first at {path}:14)"),
        (included, "6:13", "valid boolean"),
    ]
    lines = result.stderr.splitlines()
    assert len(lines) == len(expected), result.stderr
    for line, (file, where, message) in zip(lines, expected, strict=True):
        assert line.startswith(f"{file}:{where}: ") and message in line, (line, message)


def test_short_intervals_stay_allowed_where_nobody_is_hammered(tmp_path):
    """The escape hatch tests and local bridges use: file: feeds, and loopback or
    private literal addresses (or localhost) that allow_private_networks lets in."""
    text = GOOD.replace(
        FEED_2,
        FEED_2
        + textwrap.indent(
            textwrap.dedent("""\
            - {url: "file:fast.xml", interval: 1s}
            - {url: "http://127.0.0.1:9/feed.xml", interval: 2s, allow_private_networks: true}
            - {url: "http://localhost:9/feed.xml", interval: 500ms, allow_private_networks: true}
            """),
            "  ",
        ),
    )
    result = run_cli("check", "--config", str(write(tmp_path, text)), cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_run_with_a_state_dir_that_cannot_be_created_says_so_in_one_line(tmp_path):
    (tmp_path / "blocker").write_text("")
    (tmp_path / "feed.xml").write_text(RSS)
    path = write(tmp_path, GOOD.replace("./state", "./blocker/state"))
    result = run_cli("run", "--once", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "news-monitor: cannot use state_dir blocker/state: Not a directory (blocker/state)"
    ]


RSS = "<rss version='2.0'><channel><title>t</title><link>http://x.example/</link></channel></rss>"
SECRET_CHANNEL = (
    "  mail: {type: email, from: a@example.org, to: [b@example.org],"
    " smtp: {host: 127.0.0.1, password_file: /run/credentials/news-monitor.service/smtp}}\n"
)


def test_a_secret_only_the_service_can_read_is_a_warning_for_check_an_error_for_run(tmp_path):
    """The admin shell beside a unit with LoadCredential=: the credential file does not
    exist there. check (and status) carry on with a warning; run needs it."""
    (tmp_path / "feed.xml").write_text(RSS)
    first = run_cli("run", "--once", "--config", str(write(tmp_path, GOOD)), cwd=tmp_path)
    assert first.returncode == 0, first.stderr  # a state for status to read
    path = write(tmp_path, GOOD.replace(CHANNEL_2, CHANNEL_2 + SECRET_CHANNEL))
    secret = "/run/credentials/news-monitor.service/smtp"
    check = run_cli("check", "--config", str(path), cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert check.stderr.splitlines() == [
        f"{path}:13:104: warning: cannot read secret file {secret} (the service reads it at"
        " start): No such file or directory"
    ]
    assert "1 warning(s)" in check.stdout
    status = run_cli("status", "--config", str(path), cwd=tmp_path)
    assert status.returncode == 0 and f"cannot read secret file {secret}" in status.stderr
    run = run_cli("run", "--once", "--config", str(path), cwd=tmp_path)
    assert run.returncode == 2
    assert f"{path}:13:104: cannot read secret file {secret}: No such file" in run.stderr
    assert "Traceback" not in run.stderr + status.stderr + check.stderr


def test_an_invalid_feed_or_channel_does_not_make_its_references_unknown(tmp_path):
    """A part set aside for a validation error keeps its name: the rule that names
    it gets no second, misleading error ("unknown feed 'sample'", "unknown channel
    'console'"), while the rule's own syntax error is still reported."""
    text = GOOD.replace("    name: sample\n", "    name: sample\n    interval: 5 minutes\n")
    text = text.replace("feeds: [tag:korea]", "feeds: [sample, tag:korea]")
    text = text.replace("{type: console}", "{type: console, timeout: soon}")
    text = text.replace("AND Pyongyang", "AND (Pyongyang")
    path = write(tmp_path, text)
    result = run_cli("check", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    where = [f"{path}:5:15", f"{path}:9:24", f"{path}:13:37"]
    assert [line.split(": ")[0] for line in lines] == where, lines
    assert "invalid duration '5 minutes'" in lines[0] and "unclosed '('" in lines[1]
    assert "invalid duration 'soon'" in lines[2]


def test_run_refuses_the_same_mistakes_with_the_same_location(tmp_path):
    """run validates as check does: a loopback feed is refused before any poll, at
    its line, naming allow_private_networks."""
    path = write(tmp_path, GOOD.replace("url: file:feed.xml", "url: http://127.0.0.1:9/rss"))
    run = run_cli("run", "--once", "--config", str(path), cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.startswith(f"{path}:3:10: feed URL http://127.0.0.1:9/rss: 127.0.0.1")
    assert "allow_private_networks: true" in run.stderr
    assert not (tmp_path / "state").exists()


def test_check_judges_the_state_dir_given_by_state_dir_option(tmp_path):
    """``--state-dir`` overrides the config's (the unit's directory): check that one."""
    (tmp_path / "blocker").write_text("")
    path = write(tmp_path, GOOD)
    given = str(tmp_path / "blocker" / "state")
    result = run_cli("--state-dir", given, "check", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}:1:1: state_dir {given} cannot be created: ")
    assert "(given by --state-dir or $NEWS_MONITOR_STATE_DIR)" in result.stderr


def test_a_stray_quote_in_a_query_is_refused_at_its_column(tmp_path):
    """A quote inside a word was read as part of the word (``Pompeo"`` matched
    "pompeo"), so the typo passed ``check``; an unbalanced quote is an error."""
    path = write(
        tmp_path,
        "feeds:\n  - url: https://news.example/rss\nrules:\n  - name: p\n"
        "    query: 'Pompeo\" AND Pyongyang'\nchannels:\n  console: {type: console}\n",
    )
    result = run_cli("check", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}:5:19: rule 'p': unclosed quote (query column 7)")


def test_file_feeds_that_cannot_be_read_from_here_are_warnings(tmp_path):
    """A ``file:`` feed that does not exist passed ``check`` and failed at ``run``
    (newcomer review). It is a warning, as an unreadable secret file is: the service
    may run elsewhere. A relative path names the working directory it is read from."""
    (tmp_path / "feed.xml").write_text("<rss version='2.0'><channel/></rss>")
    (tmp_path / "sub").mkdir()
    path = write(
        tmp_path,
        "feeds:\n  - url: file:/nonexistent/feed.xml\n  - url: file:feed.xml\n"
        "  - url: file:missing.xml\n  - url: file:sub\nchannels:\n  console: {type: console}\n",
    )
    result = run_cli("check", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith(", 3 warning(s)")
    assert result.stderr.splitlines() == [
        f"{path}:2:10: warning: feed file:/nonexistent/feed.xml: cannot read"
        " /nonexistent/feed.xml: No such file or directory",
        f"{path}:4:10: warning: feed file:missing.xml: cannot read missing.xml (relative to"
        f" the working directory {tmp_path}): No such file or directory",
        f"{path}:5:10: warning: feed file:sub: sub (relative to the working directory"
        f" {tmp_path}) is a directory, not a feed file",
    ]


def test_a_file_feed_with_a_nul_in_its_path_is_a_warning_and_a_failed_fetch(tmp_path):
    """``%00`` decodes to a character no path may hold: Python raises ValueError, not
    OSError (review: a traceback in ``check`` and ``fetch``)."""
    path = write(tmp_path, 'feeds:\n  - url: "file:/tmp/a%00b.xml"\n')
    checked = run_cli("check", "--config", str(path), cwd=tmp_path)
    assert checked.returncode == 0 and "Traceback" not in checked.stderr
    warning = "warning: feed file:/tmp/a%00b.xml: cannot read '/tmp/a\\x00b.xml': embedded null"
    assert warning in checked.stderr
    fetched = run_cli("fetch", "file:/tmp/a%00b.xml", cwd=tmp_path)
    assert (fetched.returncode, fetched.stdout) == (2, "")
    assert fetched.stderr.startswith("news-monitor: file:/tmp/a%00b.xml: cannot read '/tmp/a")
    assert "Traceback" not in fetched.stderr
