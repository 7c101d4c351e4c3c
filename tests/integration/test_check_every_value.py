"""`check` lists every bad value of one channel, feed or rule in one run.

A value pydantic rejects used to set its whole channel, feed or rule aside, so the
checks that judge URLs, schedules, addresses and references never saw the entry's
other values: a webhook with a URL without a host beside a numeric secret reported
only the secret, and the URL after the next run. The CLI runs in a subprocess; each
test asserts every line of the output, at its FILE:LINE:COL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config.channels import apprise_available
from tests.conftest import placeholder_feeds, run_cli


@pytest.fixture(autouse=True)
def _feed_files(tmp_path: Path) -> None:
    placeholder_feeds(tmp_path, "feed.xml")


pytestmark = pytest.mark.integration


def check(tmp_path: Path, body: str) -> tuple[int, list[str], str]:
    """Run `check` on a config of ``body`` (YAML after a first ``state_dir`` line):
    its exit code, its stderr lines without the ``FILE:`` prefix, and all its output."""
    path = tmp_path / "monitor.yaml"
    path.write_text(f"state_dir: {tmp_path / 'state'}\n{body}")
    done = run_cli("check", "--config", str(path), cwd=tmp_path)
    lines = [line.removeprefix(f"{path}:") for line in done.stderr.splitlines()]
    return done.returncode, lines, done.stdout + done.stderr


def test_a_webhook_channel_gets_its_bad_url_and_its_bad_secret_together(tmp_path: Path) -> None:
    code, lines, out = check(
        tmp_path,
        "feeds: [{url: file:feed.xml}]\n"
        "channels:\n"
        "  hook:\n"
        "    type: webhook\n"
        "    url: hooks.example.org/x\n"
        "    secret: 12345\n"
        "    max_attempts: 0\n",
    )
    assert code == 1, out
    assert lines == [
        "6:10: channels.hook.url is not an http:// or https:// URL with a host (value not shown)",
        "7:13: channels.hook.secret: Input should be a valid string",
        "8:19: channels.hook.max_attempts: Input should be greater than or equal to 1",
    ], out
    shown = out.replace(str(tmp_path), "")  # pytest's tmp path may hold any digits
    assert "12345" not in shown and "hooks.example.org" not in shown  # secrets never shown


def test_an_email_channel_gets_every_bad_value_together(tmp_path: Path) -> None:
    """A bad port no longer hides the tls/starttls rule of ``smtp``, nor the schedule."""
    code, lines, out = check(
        tmp_path,
        "feeds: [{url: file:feed.xml}]\n"
        "channels:\n"
        "  mail:\n"
        "    type: email\n"
        "    smtp: {host: smtp.example.org, port: 99999, tls: true, starttls: true}\n"
        '    from: "a@"\n'
        "    to: [desk@example.org]\n"
        '    schedule: "every: 0s"\n'
        "    timezone: Nowhere/Land\n",
    )
    assert code == 1, out
    assert lines == [
        "6:11: channels.mail.smtp: tls: true (implicit TLS from the first byte, port 465) and"
        " starttls: true (upgrade of a plain connection, port 587) exclude each other: remove"
        " starttls (or set starttls: false) to keep tls: true, or set tls: false",
        "6:42: channels.mail.smtp.port: Input should be less than or equal to 65535",
        "7:11: channels.mail.from: invalid email address 'a@': expected name@domain or"
        " 'Display Name <name@domain>'",
        "9:15: schedule 'every: 0s': every needs a duration of at least 1s; to send as soon"
        " as alerts arrive, use schedule: immediate",
        "10:15: channels.mail.timezone: unknown time zone 'Nowhere/Land'",
    ], out


def test_slack_and_apprise_channels_get_every_bad_value_together(tmp_path: Path) -> None:
    code, lines, out = check(
        tmp_path,
        "feeds: [{url: file:feed.xml}]\n"
        "channels:\n"
        "  team:\n"
        "    type: slack\n"
        "    webhook_url: ftp://hooks.example.org/x\n"
        "    timezone: Mars/Base\n"
        "  ap:\n"
        "    type: apprise\n"
        "    urls: [nothing://x]\n"
        "    timeout: soon\n",
    )
    assert code == 1, out
    apprise = (
        "10:12: not a supported Apprise URL: nothing://…"
        if apprise_available()
        else "9:11: channel type 'apprise' needs the apprise package: install the extra:"
        " pip install 'news-monitor[apprise]'"
    )
    assert lines == [
        "6:18: channels.team.webhook_url is not an http:// or https:// URL with a host"
        " (value not shown)",
        "7:15: channels.team.timezone: unknown time zone 'Mars/Base'",
        apprise,
        "11:14: channels.ap.timeout: invalid duration 'soon': use a number with a unit,"
        " e.g. 90s, 10m, 1h, 2d",
    ], out


def test_a_feed_gets_its_bad_url_and_its_bad_interval_together(tmp_path: Path) -> None:
    """Either may be the one validation rejects: the other is still judged."""
    code, lines, out = check(
        tmp_path,
        "feeds:\n"
        "  - url: http://169.254.169.254/latest\n"
        "    interval: 5\n"
        "  - url: example.org/feed\n"
        "    interval: 0s\n",
    )
    assert code == 1, out
    assert lines == [
        "3:10: feed URL http://169.254.169.254/latest: 169.254.169.254 is a cloud metadata"
        " address: always refused",
        "4:15: feeds.0.interval: 5 is not a duration: write 5s, 5m, 5h or 5d",
        "5:10: feeds.1.url: unsupported feed URL 'example.org/feed': use http://, https://"
        " or file:",
        "6:15: interval 0s: a feed needs an interval above 0s (at least 1m)",
    ], out


def test_a_rule_gets_its_bad_value_and_its_unknown_references_together(tmp_path: Path) -> None:
    """Its examples are not judged under the default ``stem`` that took the bad one's
    place: "running" matches ``run`` only when stemmed, as the rule meant."""
    code, lines, out = check(
        tmp_path,
        "feeds:\n"
        "  - {url: file:feed.xml, name: wire}\n"
        "channels:\n"
        "  out: {type: console}\n"
        "rules:\n"
        "  - name: r1\n"
        "    query: run\n"
        "    stem: maybe\n"
        "    notify: [nope]\n"
        "    feeds: [missing]\n"
        "    examples: {match: [running]}\n",
    )
    assert code == 1, out
    assert lines == [
        "9:11: rules.0.stem: Input should be a valid boolean, unable to interpret input",
        "10:14: rule 'r1' notifies unknown channel 'nope' (channels: out)",
        "11:13: rule 'r1' watches unknown feed 'missing' (feeds: wire)",
    ], out


def test_a_valid_config_of_every_kind_still_passes(tmp_path: Path) -> None:
    code, lines, out = check(
        tmp_path,
        "feeds:\n"
        "  - {url: file:feed.xml, name: wire, interval: 5m}\n"
        "channels:\n"
        "  hook: {type: webhook, url: 'https://hooks.example.org/x', secret: s3cr3t-value}\n"
        "  team: {type: slack, webhook_url: 'https://hooks.slack.com/services/T/B/x'}\n"
        "  mail:\n"
        "    type: email\n"
        "    smtp: {host: smtp.example.org, port: 465, tls: true}\n"
        "    from: News Monitor <alerts@example.org>\n"
        "    to: [desk@example.org]\n"
        '    schedule: "every: 15m"\n'
        "    timezone: Europe/Berlin\n"
        "rules:\n"
        "  - name: r1\n"
        "    query: run\n"
        "    stem: true\n"
        "    notify: [hook, mail]\n"
        "    feeds: [wire]\n"
        "    examples: {match: [running]}\n",
    )
    assert code == 0, out
    assert lines == [], out
    assert "ok: 1 feed, 1 rule, 3 channels, 1 example passed" in out, out


def test_a_rule_watching_a_feed_whose_url_is_refused_is_not_told_it_is_unknown(
    tmp_path: Path,
) -> None:
    """The unnamed feed's URL stood in for is still the name the rule gave it; the
    list of known feeds shows no stand-in."""
    code, lines, out = check(
        tmp_path,
        "feeds:\n"
        "  - url: example.org/feed\n"
        "  - {url: file:feed.xml, name: wire}\n"
        "rules:\n"
        "  - {name: r1, query: run, feeds: [example.org/feed, wirre]}\n",
    )
    assert code == 1, out
    assert lines == [
        "3:10: feeds.0.url: unsupported feed URL 'example.org/feed': use http://, https://"
        " or file:",
        "6:54: rule 'r1' watches unknown feed 'wirre' (feeds: wire)",
    ], out
