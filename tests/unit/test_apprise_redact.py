"""What an Apprise channel's errors may show of its URLs (monitor/notify/apprise.py,
monitor/config/channels.py): for most services the host is a credential."""

from __future__ import annotations

import pytest

from monitor.config.channels import scheme_host
from monitor.notify.apprise import redact


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("pover://userkey123@apptoken456", "pover://…"),
        ("ntfy://mysecrettopic", "ntfy://…"),
        ("tgram://123456:s3cr3tbot@telegram/-100200", "tgram://…"),
        ("json://hooks.example/x?token=t0ken", "json://hooks.example"),
        ("mailtos://user:pass@mail.example", "mailtos://mail.example"),
        ("https://hooks.slack.com/services/T0/B0/XXXX", "https://hooks.slack.com"),
    ],
)
def test_a_url_shows_its_host_only_when_that_is_a_server(url, shown):
    assert scheme_host(url) == shown


def test_apprise_error_lines_lose_a_services_host_and_keep_a_servers():
    line = "Failed to send to apptoken456 (user userkey123); json post to hooks.example failed"
    urls = ["pover://userkey123@apptoken456", "json://hooks.example/x?token=t0ken"]
    cleaned = redact(line, urls)
    assert "apptoken456" not in cleaned and "userkey123" not in cleaned
    assert "hooks.example" in cleaned
