"""config.partial.validate_all: every error, and still a config the cross-checks can read."""

from __future__ import annotations

import copy
from datetime import timedelta

from monitor.config import MonitorConfig
from monitor.config.partial import validate_all


def test_parts_with_errors_are_set_aside_and_the_rest_is_kept():
    data = {
        "defaults": {"interval": "10", "timeout": "20s"},
        "feeds": [
            {"url": "https://a.example/rss", "name": "a", "tags": ["x"], "interval": "soon"},
            {"url": "https://b.example/rss", "name": "b"},
        ],
        "rules": [{"name": "r", "query": "Kim AND (", "urgent": "maybe"}],
        "channels": {"team": {"type": "slack"}, "out": {"type": "console"}},
        "log_level": "loud",
    }
    before = copy.deepcopy(data)
    config, errors, aside = validate_all(MonitorConfig, data)
    assert data == before  # set aside in copies
    assert config is not None
    assert {tuple(e["loc"][:2]) for e in errors} == {
        ("defaults", "interval"),
        ("feeds", 0),
        ("rules", 0),
        ("channels", "team"),
        ("log_level",),
    }
    assert aside == {  # only the values at fault, so the entries' other values are checked
        ("defaults", "interval"),
        ("feeds", 0, "interval"),
        ("rules", 0, "urgent"),
        ("channels", "team", "webhook_url"),
        ("log_level",),
    }
    a, b = config.feeds
    assert (a.url, a.name, a.tags, a.interval) == ("https://a.example/rss", "a", ["x"], None)
    assert b.url == "https://b.example/rss"
    assert (config.rules[0].name, config.rules[0].query) == ("r", "Kim AND (")  # for syntax
    assert config.channels["team"].type == "slack"  # its missing webhook_url stood in for
    assert "out" in config.channels
    assert config.defaults.interval == timedelta(minutes=10)  # the default
    assert config.defaults.timeout == timedelta(seconds=20)  # its sibling kept


def test_wrong_shapes_become_defaults_and_stand_ins():
    config, errors, _ = validate_all(MonitorConfig, {"feeds": 5, "rules": [7]})
    assert config is not None and config.feeds == []  # feeds: default; rule 7: stand-in
    assert config.rules[0].name == "(rule 1)"
    assert len(errors) == 2
