"""Everything a running monitor needs, built once from a config.

The clock and the HTTP client are injected here (tests pass their own), never read
from globals by the stages. The store is SQLite in ``state_dir``, or the PostgreSQL
database of the config's ``store:`` section, shared by several instances: each then has
an owner id (:func:`new_owner_id`) that its claims and leases carry
(docs/operations.md, *Several instances*).
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

import httpx

from monitor.config import FeedConfig, MonitorConfig, RuleConfig
from monitor.dedup import FingerprintIndex, StoryFinder
from monitor.ingest.fetch import make_client
from monitor.ingest.fulltext import FulltextFetcher, HostSlots
from monitor.ingest.workerpool import ParsePool
from monitor.notify import Notifier, build_notifier
from monitor.notify.render import Renderer
from monitor.redact import may_hold_secret
from monitor.rules.index import RuleSet
from monitor.store.dialect import POSTGRESQL
from monitor.store.hosts import feed_host
from monitor.store.items import Items
from monitor.store.leases import ensure_feeds
from monitor.store.opening import open_store
from monitor.store.runner import StoreRunner
from monitor.store.sqlite import Store

# pg_advisory_xact_lock key of the start-up fixes (feed renames, then feed rows)
STARTUP_LOCK = 0x6E6D5F7374617274  # "nm_start"


def utc_now() -> datetime:
    """The real clock (tests inject their own)."""
    return datetime.now(UTC)


@dataclass
class Runtime:
    """The config plus the live objects built from it."""

    config: MonitorConfig
    store: Store
    renderer: Renderer
    http: httpx.AsyncClient
    notifiers: dict[str, Notifier]
    stories: StoryFinder
    feeds_http: httpx.AsyncClient
    parse_pool: ParsePool
    clock: Callable[[], datetime] = utc_now
    # The compiled rules: given (a reload), else compiled at first use (:attr:`rules`).
    compiled_rules: RuleSet | None = None
    rng: random.Random = field(default_factory=random.Random)
    # Matching off the event loop (monitor/matching.py): one thread, one item per task.
    match_thread: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="match")
    )
    _feed_rules: dict[str, frozenset[str]] = field(default_factory=dict)
    _rule_channels: dict[str, tuple[str, ...]] | None = None
    _channel_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _host_slots: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    _fulltext: dict[bool, FulltextFetcher] = field(default_factory=dict)
    _article_slots: HostSlots = field(default_factory=HostSlots)  # shared by both fetchers
    # Permanent redirect targets with a query or user:password@ (where tokens live):
    # followed for the rest of this run but never written to the database.
    moved: dict[str, str] = field(default_factory=dict)
    # The store's one thread (store/runner.py): the event loop reaches the store only
    # through it; made in __post_init__ unless given.
    db: StoreRunner = None  # type: ignore[assignment]
    # The highest item id whose fingerprint is in ``stories`` (PostgreSQL: other
    # instances' items above it are read in before story assignment: recording.py),
    # and whether ``stories`` has been filled from the store yet (at the first new item).
    stories_seen: int = 0
    stories_loaded: bool = False

    def __post_init__(self) -> None:
        if self.db is None:
            self.db = StoreRunner(self.store)

    @property
    def rules(self) -> RuleSet:
        """The config's rules, compiled at first use: a pass that matches nothing (``run
        --once`` over unchanged feeds) never compiles them, nor loads numpy."""
        if self.compiled_rules is None:
            self.compiled_rules = compile_rules(self.config)
        return self.compiled_rules

    def allow_private(self, feed: FeedConfig) -> bool:
        """Whether this feed may reach loopback/private addresses (the operator said so)."""
        own = feed.allow_private_networks
        return self.config.allow_private_networks if own is None else own

    def host_slot(self, url: str) -> asyncio.Semaphore:
        """At most ``ingest.max_per_host`` fetches at once to one host (the host as the
        cluster's claims count it: :func:`~monitor.store.hosts.feed_host`)."""
        host = feed_host(url)
        if host not in self._host_slots:
            self._host_slots[host] = asyncio.Semaphore(self.config.ingest.max_per_host)
        return self._host_slots[host]

    def fulltext(self, feed: FeedConfig) -> FulltextFetcher:
        """The article fetcher for this feed (guarded; private only if the feed may)."""
        allow = self.allow_private(feed)
        if allow not in self._fulltext:
            ingest = self.config.ingest
            self._fulltext[allow] = FulltextFetcher(
                self.feeds_http,
                timeout=self.config.defaults.timeout.total_seconds(),
                max_bytes=ingest.fulltext_max_bytes,
                concurrency=ingest.fulltext_concurrency,
                allow_private=allow,
                pool=self.parse_pool,
                extract_timeout=ingest.parse_timeout.total_seconds(),
                host_slots=self._article_slots,
            )
        return self._fulltext[allow]

    def channel_lock(self, channel: str) -> asyncio.Lock:
        """One delivery at a time per channel, so a message is never sent twice at once."""
        return self._channel_locks.setdefault(channel, asyncio.Lock())

    @property
    def rule_channels(self) -> dict[str, tuple[str, ...]]:
        """The channels each rule notifies, by rule name (computed once per config)."""
        if self._rule_channels is None:
            self._rule_channels = {
                r.name: tuple(self.config.rule_channels(r)) for r in self.config.rules
            }
        return self._rule_channels

    def rules_for_feed(self, feed: FeedConfig) -> frozenset[str]:
        """Names of the rules that watch ``feed`` (``feeds:`` by name or ``tag:``)."""
        if feed.url not in self._feed_rules:
            self._feed_rules[feed.url] = frozenset(
                r.name for r in self.config.rules if _watches(r, feed)
            )
        return self._feed_rules[feed.url]

    def swap(
        self,
        config: MonitorConfig,
        rules: RuleSet,
        renderer: Renderer,
        notifiers: dict[str, Notifier],
    ) -> None:
        """Use a reloaded config; the store, HTTP client, stories and channel locks stay."""
        self.config, self.renderer, self.notifiers = config, renderer, notifiers
        self.compiled_rules = rules
        self._feed_rules.clear()
        self._rule_channels = None

    async def aclose(self) -> None:
        """Close the HTTP clients, the parse workers, the match thread and the database."""
        await self.http.aclose()
        await self.feeds_http.aclose()
        await self.parse_pool.close()
        self.match_thread.shutdown(wait=False, cancel_futures=True)
        self.db.close()


def _watches(rule: RuleConfig, feed: FeedConfig) -> bool:
    if not rule.feeds:
        return True
    return any(
        (s.startswith("tag:") and s[4:] in feed.tags) or s == feed.display_name for s in rule.feeds
    )


def load_stories(config: MonitorConfig) -> StoryFinder:
    """The near-duplicate index, empty: :func:`catch_up_stories` fills it with the
    fingerprints still inside the dedup window before the first new item is folded
    (recording.py), so a pass that finds nothing new never reads them (~0.1 s for
    12,000 items; issue #18)."""
    return StoryFinder(FingerprintIndex(config.dedup.max_distance), config.dedup.window)


def catch_up_stories(rt: Runtime, now: datetime) -> int:
    """Add to ``rt.stories`` the fingerprints of items above ``rt.stories_seen`` (by id)
    first seen inside the dedup window, and move the watermark; how many were added.

    Several instances: items are inserted under the story lock (recording.py), so
    their ids commit in order and everything at or below the watermark has been read.
    """
    rows = Items(rt.store).fingerprints_after(rt.stories_seen, now - rt.config.dedup.window)
    added = 0
    for item_id, fp, story_id, seen_at in rows:
        rt.stories.index.add(fp, story_id, seen_at.timestamp())
        rt.stories_seen = max(rt.stories_seen, item_id)
        added += 1
    rt.stories_loaded = True
    return added


def new_owner_id() -> str:
    """This instance's id among several on one database: ``host:pid:random`` (8 hex
    digits, so a restarted process with a reused pid is another owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def startup_fixes(store: Store, config: MonitorConfig, now: datetime) -> None:
    """Repair state written by earlier versions, then (with ``store.owner`` set) make a
    row, due at ``now``, for each configured feed that has none, so claims find it.

    On PostgreSQL all of it is one transaction under an advisory lock, so instances
    starting together run it one after the other: a feed's old key is renamed before any
    instance makes a row under its new key, and a second instance finds nothing to do.
    """
    if store.dialect != POSTGRESQL:  # one machine: as it always was
        _repair(store, config)
        return
    with store.transaction():
        store.advisory_lock(STARTUP_LOCK)
        _repair(store, config)
        if store.owner is not None:
            ensure_feeds(store, [(f.key, f.display_name) for f in config.feeds], now)


def _repair(store: Store, config: MonitorConfig) -> None:
    for feed in config.feeds:  # state kept under a key that held the URL's query string
        store.rename_feed(feed.legacy_key, feed.key)
    store.forget_permanent_urls(may_hold_secret)  # earlier versions stored them


def build_runtime(
    config: MonitorConfig,
    *,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], datetime] = utc_now,
    stdout: TextIO | None = None,
    owner: str | None = None,
) -> Runtime:
    """Open the store, build the channels; rules are compiled at first use
    (:attr:`Runtime.rules`), templates at the first render, parse workers started at
    the first parse, the TLS context's CA certificates read at the first handshake.

    ``owner`` (several instances on the config's PostgreSQL ``store:``): this
    instance's id, set on the store so a poll's transactions are fenced by its claim.
    """
    client = http or make_client()
    renderer, notifiers = channel_parts(config, client, stdout)
    store = open_store(config, create=True)
    store.owner = owner
    startup_fixes(store, config, clock())
    ingest = config.ingest
    rt = Runtime(
        config=config,
        store=store,
        feeds_http=make_client(guarded=True),
        parse_pool=ParsePool(
            ingest.parse_workers,
            memory_mb=ingest.parse_memory_mb,
            timeout=ingest.parse_timeout.total_seconds(),
        ),
        stories=load_stories(config),
        renderer=renderer,
        http=client,
        notifiers=notifiers,
        clock=clock,
    )
    if store.dialect == POSTGRESQL:
        rt.db.call(lambda _: catch_up_stories(rt, clock()))
    return rt


def compile_rules(config: MonitorConfig) -> RuleSet:
    """The config's rules as one :class:`RuleSet`; RuleSyntaxError names a bad rule."""
    return RuleSet([(r.name, r.query, r.stem) for r in config.rules])


def channel_parts(
    config: MonitorConfig, http: httpx.AsyncClient, stdout: TextIO | None = None
) -> tuple[Renderer, dict[str, Notifier]]:
    """The renderer and a notifier per channel (templates compiled at the first render)."""
    renderer = Renderer(config.templates_dir)
    notifiers = {
        name: build_notifier(name, channel, renderer, http, stdout)
        for name, channel in config.channels.items()
    }
    return renderer, notifiers


def config_parts(
    config: MonitorConfig, http: httpx.AsyncClient, stdout: TextIO | None = None
) -> tuple[RuleSet, Renderer, dict[str, Notifier]]:
    """What is built from the config alone: compiled rules, renderer, notifiers (reload:
    the rules are compiled now, so a reload that cannot compile them keeps the old ones)."""
    return compile_rules(config), *channel_parts(config, http, stdout)
