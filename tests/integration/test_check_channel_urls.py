"""`check` judges Slack/webhook URLs by their host and rejects an empty webhook
secret (found by a newcomer review): the CLI in a subprocess."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, write_config

pytestmark = pytest.mark.integration


def check(tmp_path: Path, channels: dict[str, Any], **env: str) -> tuple[int, str]:
    """Run `check` on a config of ``channels``; its exit code and output."""
    config = write_config(
        tmp_path / "monitor.yaml", {"state_dir": str(tmp_path / "state"), "channels": channels}
    )
    done = run_cli("check", "--config", str(config), cwd=tmp_path, env=env)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        (
            {"type": "slack", "webhook_url": "https://:pw1234567@/x"},
            "channels.dest.webhook_url has no host",
        ),
        ({"type": "webhook", "url": "https://:pw1234567@/x"}, "channels.dest.url has no host"),
        (
            {"type": "webhook", "url": "http://user:pw1234567@[::1/x"},
            "channels.dest.url is not a valid URL (value not shown)",
        ),
    ],
    ids=["slack-no-host", "webhook-no-host", "webhook-unclosed-ipv6"],
)
def test_a_url_without_a_valid_host_fails_check(
    tmp_path: Path, channel: dict[str, Any], message: str
) -> None:
    code, out = check(tmp_path, {"dest": channel})
    assert code == 1, out
    assert message in out, out
    assert "pw1234567" not in out


def test_an_empty_secret_names_its_variable(tmp_path: Path) -> None:
    hook = {"type": "webhook", "url": "https://hooks.example.org/x", "secret": "${WS}"}
    code, out = check(tmp_path, {"hook": hook}, WS="")
    assert code == 1, out
    assert "channels.hook.secret is empty (is the environment variable WS set?)" in out, out


def test_a_secret_check_cannot_read_is_not_judged(tmp_path: Path) -> None:
    """`check` may run where the service's variables are not set: a warning only."""
    hook = {"type": "webhook", "url": "https://${HOOK_HOST}/x", "secret": "${WS_UNSET_HERE}"}
    code, out = check(tmp_path, {"hook": hook})
    assert code == 0, out
    assert "WS_UNSET_HERE is not set here" in out, out
