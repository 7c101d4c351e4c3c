"""Secrets out of log lines: URL credentials, registered secret values, both formats."""

from __future__ import annotations

import json
import logging

from pydantic import SecretStr

from monitor.config import MonitorConfig
from monitor.logs import JsonFormatter, make_formatter
from monitor.redact import config_secrets, redact_url, register_secrets


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError("boom with canary-exc-7f3a")
        except RuntimeError:
            import sys

            exc_info = sys.exc_info()
    return logging.LogRecord("monitor.test", logging.ERROR, __file__, 1, message, args, exc_info)


def test_url_credentials_and_queries_are_removed():
    text = "GET https://bob:pa55word@feeds.example.org/rss?token=abc failed"
    assert redact_url(text) == "GET https://feeds.example.org/rss?… failed"
    assert "T000/B000" not in redact_url("https://hooks.slack.com/services/T000/B000/XXXX")


def test_registered_secrets_are_masked_anywhere():
    register_secrets(["canary-pw-1a2b3c", "https://hooks.local/slack/T1/B2/canary-path-9z"])
    line = "auth failed for canary-pw-1a2b3c posting to /slack/T1/B2/canary-path-9z"
    out = redact_url(line)
    assert "canary-pw-1a2b3c" not in out and "canary-path-9z" not in out
    register_secrets(["abc"])  # too short to mask without blanking ordinary words
    assert redact_url("abc") == "abc"


def test_a_secret_urls_token_and_a_whsec_key_are_masked_alone_but_not_plain_words():
    # A destination's error body may quote the token alone; a webhook URL whose last
    # segment is an ordinary word must not blank that word everywhere (review).
    register_secrets(
        [
            "https://hooks.example.net/services/T1/B2/tok3nZq8Wm2Kx7",
            "https://alerts.example.com/hooks/notifications",
            "whsec_c2VjcmV0LWtleS0xMjM0NTY=",
        ]
    )
    out = redact_url("invalid token tok3nZq8Wm2Kx7; key c2VjcmV0LWtleS0xMjM0NTY=")
    assert "tok3nZq8Wm2Kx7" not in out and "c2VjcmV0LWtleS0xMjM0NTY=" not in out
    assert redact_url("3 notifications sent") == "3 notifications sent"


def test_a_secret_is_masked_where_json_escaped_it():
    # status --json prints stored errors JSON-escaped: a password with a quote or a
    # backslash (or non-ASCII, with ensure_ascii) did not match its raw mask (review).
    register_secrets(['pa"ss\\wörd-42'])
    for ascii in (False, True):
        text = json.dumps({"last_error": 'login failed: pa"ss\\wörd-42'}, ensure_ascii=ascii)
        assert "ss" not in redact_url(text).split("failed: ")[1], redact_url(text)


def test_config_secrets_finds_secretstr_fields_and_feed_passwords():
    config = MonitorConfig.model_validate(
        {
            "feeds": [{"url": "https://u:feed-pass-42@example.org/rss"}],
            "channels": {
                "hook": {"type": "webhook", "url": "https://h.example/x", "secret": "whsec-zz9"},
                "mail": {
                    "type": "email",
                    "smtp": {"host": "localhost", "password": "smtp-pw-77"},
                    "from": "a@example.org",
                    "to": ["b@example.org"],
                },
            },
        }
    )
    found = set(config_secrets(config))
    assert {"feed-pass-42", "whsec-zz9", "smtp-pw-77", "https://h.example/x"} <= found
    assert not any(isinstance(v, SecretStr) for v in found)


def test_text_format_is_one_line_and_redacted():
    register_secrets(["canary-exc-7f3a"])
    line = make_formatter("text").format(record("line one\nline two %s", "x", exc=True))
    assert "\n" not in line and "line one | line two x" in line
    assert "canary-exc-7f3a" not in line and "RuntimeError" in line


def test_json_format_is_one_object_per_line_and_redacted():
    register_secrets(["canary-json-5e5e", "canary-exc-7f3a"])  # the traceback's too
    line = JsonFormatter().format(
        record("posting to %s", "http://u:canary-json-5e5e@h/x", exc=True)
    )
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "error" and entry["logger"] == "monitor.test"
    assert entry["msg"] == "posting to http://h/x"
    assert "RuntimeError" in entry["exc"] and "canary" not in line
