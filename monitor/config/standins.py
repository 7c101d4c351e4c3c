"""Stand-ins for the single values of a feed, rule or channel that fail validation.

:mod:`monitor.config.partial` sets aside what pydantic rejects. Setting aside a whole
feed, rule or channel for one bad value hid every other problem of that entry from
the whole-config checks (a webhook's URL without a host behind a bad ``secret``, an
SMTP ``tls`` conflict behind a bad ``port``): the user fixed one, ran ``check`` again
and only then saw the next. Here only the value at fault is set aside: an optional
key is dropped (its default applies), a required one gets a stand-in that validates
and that no check judges (an ``.invalid`` host, RFC 6761). Inside a nested model
(``smtp:``) only the nested key is, so the model's own cross-field rule still runs.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from monitor.config.channels import (
    STAND_IN_APPRISE_URL,
    AppriseChannel,
    ConsoleChannel,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
)
from monitor.config.models import FeedConfig, RuleConfig
from monitor.config.source import Path_

STAND_IN_URL = "file:/dev/null"  # a feed's: local, so never judged as a public host
STAND_IN_HTTP_URL = "https://stand-in.invalid/"  # RFC 6761: a name that never resolves
STAND_IN_ADDRESS = "stand-in@stand-in.invalid"

ENTRY_MODELS: dict[str, type[BaseModel]] = {"feeds": FeedConfig, "rules": RuleConfig}
CHANNEL_MODELS: dict[str, type[BaseModel]] = {
    "console": ConsoleChannel,
    "email": EmailChannel,
    "slack": SlackChannel,
    "webhook": WebhookChannel,
    "apprise": AppriseChannel,
}
# A required key's stand-in, by model and key as written; {number}: the rule's.
REQUIRED: dict[tuple[str, str], Any] = {
    ("FeedConfig", "url"): STAND_IN_URL,
    ("RuleConfig", "name"): "(rule {number})",
    ("RuleConfig", "query"): "x",
    ("EmailChannel", "smtp"): {"host": "stand-in.invalid"},
    ("SmtpSettings", "host"): "stand-in.invalid",
    ("EmailChannel", "from"): STAND_IN_ADDRESS,
    ("EmailChannel", "to"): [STAND_IN_ADDRESS],
    ("SlackChannel", "webhook_url"): STAND_IN_HTTP_URL,
    ("WebhookChannel", "url"): STAND_IN_HTTP_URL,
    ("AppriseChannel", "urls"): [STAND_IN_APPRISE_URL],
}


def repair_entry(where: Path_, raw: Any, loc: Path_) -> tuple[dict[str, Any], Path_] | None:
    """``raw`` (the feed, rule or channel at ``where``) with only the value that the
    error at ``loc`` (relative to ``where``) points to set aside, and that value's
    path; None when only the whole entry can be (not a mapping, an unknown channel
    type, or the error is about the entry itself).

    A copy is returned: ``raw`` is not changed. An optional key already dropped (a
    second error of the same list) gives a copy equal to ``raw`` and the same path.
    """
    if not isinstance(raw, dict):
        return None
    model = ENTRY_MODELS.get(str(where[0]))
    if where[0] == "channels":
        model = CHANNEL_MODELS.get(str(raw.get("type")))
        if loc and loc[0] == raw.get("type"):  # the union's tag: not a key of the entry
            loc = loc[1:]
    if model is None or not loc:
        return None
    number = where[1] + 1 if isinstance(where[1], int) else 0
    done = _without(raw, loc, model, number)
    return None if done is None else (done[0], (*where, *done[1]))


def _without(
    raw: dict[str, Any], loc: Path_, model: type[BaseModel], number: int
) -> tuple[dict[str, Any], Path_] | None:
    """``raw`` with the key ``loc`` starts with dropped or replaced, and the relative
    path set aside; inside a nested model's mapping, only the nested key."""
    key = loc[0]
    if not isinstance(key, str):
        return None
    field = next((f for n, f in model.model_fields.items() if (f.alias or n) == key), None)
    inner = raw.get(key)
    nested = field.annotation if field is not None else None
    if isinstance(nested, type) and issubclass(nested, BaseModel) and isinstance(inner, dict):
        done = _without(inner, loc[1:], nested, number) if len(loc) > 1 else None
        if done is not None:
            return {**raw, key: done[0]}, (key, *done[1])
    if field is None or not field.is_required():  # an unknown key, or one with a default
        return {k: v for k, v in raw.items() if k != key}, (key,)
    stand_in = copy.deepcopy(REQUIRED.get((model.__name__, key)))
    if stand_in is None:
        return None
    if isinstance(stand_in, str):
        stand_in = stand_in.format(number=number)
    return {**raw, key: stand_in}, (key,)


def whole_stand_in(section: str, index: int | str, raw: Any) -> dict[str, Any]:
    """A valid feed, rule or channel in place of one that cannot be repaired value by
    value, keeping what other checks look up: a feed's name and tags, a rule's name and
    query (for its syntax error); a channel becomes a console channel of its name."""
    if section == "channels":
        return {"type": "console"}
    raw = raw if isinstance(raw, dict) else {}
    name = raw.get("name")
    name = name if isinstance(name, str) and name else None
    if section == "feeds":
        tags = raw.get("tags")
        good_tags = isinstance(tags, list) and all(isinstance(t, str) for t in tags)
        return {"url": STAND_IN_URL, "name": name, "tags": tags if good_tags else []}
    query = raw.get("query")
    number = index + 1 if isinstance(index, int) else 0
    return {
        "name": name or f"(rule {number})",
        "query": query if isinstance(query, str) and query.strip() else "x",
    }
