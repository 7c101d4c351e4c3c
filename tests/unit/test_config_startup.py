"""What importing the config costs: no model built and no HTTP client loaded until used.

Every command imports ``monitor.config`` (issue 18, start-up): its pydantic models are
built once, when a config is first validated (``defer_build``), and httpx (pulled in
by the SSRF rule, ``ingest/urlguard.py``) only when a feed URL is judged.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from monitor.config import ConsoleChannel, MonitorConfig
from tests.conftest import REPO, write_config

PROBE = """\
import json, sys
from pathlib import Path
import monitor.config as c
models = [c.MonitorConfig, c.FeedConfig, c.RuleConfig, c.Defaults, c.ConsoleChannel,
          c.EmailChannel, c.Schedule, c.StoreSettings]
found = {"httpx": "httpx" in sys.modules, "built": [m.__name__ for m in models
         if m.__pydantic_complete__]}
c.load(Path(sys.argv[1]))
found["httpx_after_load"] = "httpx" in sys.modules
print(json.dumps(found))
"""


def probe(config: Path) -> dict:
    """What a fresh interpreter has after ``import monitor.config``, then after
    loading ``config``."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_importing_the_config_builds_no_model_and_loads_no_http_client(tmp_path):
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "feeds": [{"name": "local", "url": (tmp_path / "feed.xml").as_uri()}],
            "rules": [{"name": "r", "query": "Pompeo AND Pyongyang"}],
            "channels": {"out": {"type": "console"}},
        },
    )
    found = probe(config)
    assert found["built"] == []
    assert found["httpx"] is False
    assert found["httpx_after_load"] is False  # no feed URL to judge: no HTTP client


def test_defaults_are_validated_as_before():
    config = MonitorConfig.model_validate({"channels": {"out": {"type": "console"}}})
    assert config.defaults.interval == timedelta(minutes=10)
    assert config.ingest.parse_workers == 2 and config.dedup.max_distance == 3
    assert config.health.channel is None
    channel = config.channels["out"]
    assert str(channel.schedule) == "immediate" and channel.schedule.kind == "immediate"
    assert "schedule" not in channel.model_fields_set  # a default, not written
    assert ConsoleChannel(type="console").schedule == channel.schedule
    assert MonitorConfig().defaults == config.defaults
