"""A misspelt config key gets the accepted key it was probably meant to be."""

from __future__ import annotations

import pytest

from monitor.config.suggest import did_you_mean, known_keys


@pytest.mark.parametrize(
    ("loc", "meant"),
    [
        (("dedupe",), "dedup"),
        (("feeds", 0, "backfil"), "backfill"),
        (("ingest", "parse_worker"), "parse_workers"),
        (("rules", 3, "notfy"), "notify"),
        (("rules", 0, "notify", 1, "urgnt"), "urgent"),  # a route inside a rule
        (("channels", "team", "email", "schedul"), "schedule"),  # the email member
        (("channels", "team", "email", "smtp", "prot"), "port"),
        (("channels", "team", "email", "quiet_hours", "strt"), "start"),
        (("channels", "log", "console", "max_item"), "max_items"),
        (("store", "ur"), "url"),
        (("feeds", 2, "ulr"), "url"),  # letters swapped in a short key
    ],
)
def test_a_near_key_valid_at_that_place_is_suggested(loc, meant):
    assert did_you_mean(loc) == f" (did you mean {meant!r}?)"


def test_only_keys_of_that_place_are_suggested():
    # 'max_attempts' is a channel's key, not a feed's; 'from' is an alias (of from_)
    assert did_you_mean(("feeds", 0, "max_attempt")) == ""
    assert (
        did_you_mean(("channels", "x", "slack", "max_attempt")) == " (did you mean 'max_attempts'?)"
    )
    assert "from" in known_keys(("channels", "team", "email"))
    assert "from_" not in known_keys(("channels", "team", "email"))
    assert did_you_mean(("channels", "team", "email", "form")) == " (did you mean 'from'?)"
    assert "url" in known_keys(("channels", "hook", "webhook"))
    assert "url" not in known_keys(("channels", "out", "console"))


def test_nothing_is_suggested_for_a_far_key_or_an_unknown_place():
    assert did_you_mean(("zzz",)) == ""
    assert did_you_mean(("feeds", 0, "colour")) == ""
    assert did_you_mean(("nowhere", "at", "all")) == ""
    assert did_you_mean(("feeds", 0)) == ""  # not a key
    assert known_keys(("feeds", "not-an-index")) == []
