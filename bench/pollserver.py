"""The feed server of bench/poll.py and bench/peers.py: many synthetic feeds that change
between cycles.

Runs in its own process (``start_server``). Feed ``i`` has 20–100 items (50–150 KB)
at cycle 0. At each later cycle ``c``, against cycle ``c - 1``, as real feeds do: half
are unchanged (the same bytes, so a conditional GET gets 304), a third are re-rendered
with no new entry (a new ``lastBuildDate`` and whitespace, same items), the rest gain
1–3 new entries (the oldest drop off; how many is seeded by feed and cycle, so every
run serves the same bytes). ``GET /_cycle/N`` switches the cycle; ``GET /_served``
answers ``FEEDS REQUESTS``: the distinct feeds and the feed requests served since the
last switch (bench/daemoncycle.py waits on it for a daemon's round). Plain HTTP/1.1
keep-alive on asyncio streams, ETag = sha1 of the body, ``If-None-Match`` answered
with 304.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import random
import socket
import urllib.request

WORDS = [
    "pompeo",
    "pyongyang",
    "seoul",
    "summit",
    "talks",
    "declaration",
    "war",
    "peace",
    "regime",
    "minister",
    "trade",
    "shares",
    "typhoon",
    "market",
    "weather",
    "election",
    "court",
    "president",
    "report",
    "korea",
    "japan",
    "china",
    "nuclear",
    "sanctions",
    "envoy",
    "visit",
    "meeting",
    "agency",
    "official",
    "statement",
    "week",
    "plan",
    "deal",
]


def _item(feed: int, n: int, rng: random.Random, size: int) -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(max(20, (size - 250) * 2 // 15)))
    title = " ".join(rng.choice(WORDS) for _ in range(8)).capitalize()
    return (
        f"<item><title>{title}</title>"
        f"<link>http://news.example/{feed}/{n}.html</link>"
        f'<guid isPermaLink="false">f{feed}-i{n}</guid>'
        f"<pubDate>Wed, 15 Aug 2018 {n % 24:02d}:41:00 GMT</pubDate>"
        f"<description>&lt;p&gt;{words}&lt;/p&gt;</description></item>\n"
    )


def item_count(feed: int) -> int:
    """How many items feed ``feed`` carries (the same at every cycle): 20–100."""
    return random.Random(feed).randint(20, 100)


def new_entries(feed: int, cycle: int) -> int:
    """Entries feed ``feed`` gains at ``cycle`` against ``cycle - 1``: 0, or 1–3 (seeded)."""
    if cycle < 1 or feed % 6 != 5:
        return 0
    return random.Random(f"new:{feed}:{cycle}").randint(1, 3)


def feed_body(feed: int, cycle: int) -> bytes:
    """The bytes of feed ``feed`` at ``cycle`` (0, 1, 2, …), deterministic."""
    count = item_count(feed)
    kind = feed % 6  # 0-2 unchanged, 3-4 re-rendered, 5 new entries
    first = 1000 + sum(new_entries(feed, c) for c in range(1, cycle + 1))
    build = "Wed, 15 Aug 2018 12:00:00 GMT"
    if cycle and kind >= 3:
        minutes = 12 * 60 + 10 * cycle
        build = f"Wed, 15 Aug 2018 {minutes // 60 % 24:02d}:{minutes % 60:02d}:00 GMT"
    size = (50_000 + (count - 20) * 1250) // count  # 50 KB at 20 items, 150 KB at 100
    items = []
    for n in range(first, first - count, -1):
        items.append(_item(feed, n, random.Random(feed * 100_000 + n), size))
    sep = "\n  " if cycle and kind >= 3 else "\n"
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Feed {feed}</title><link>http://news.example/{feed}/</link>"
        f"<description>bench feed</description><lastBuildDate>{build}</lastBuildDate>{sep}"
        + sep.join(items)
        + "</channel></rss>\n"
    ).encode()


def _serve(sock: socket.socket, feeds: int, ready: multiprocessing.synchronize.Event) -> None:
    bodies: dict[int, list[bytes]] = {}
    etags: dict[int, list[str]] = {}

    def build(cycle: int) -> None:
        """Render ``cycle`` (kept: 0, 1 and the latest other one)."""
        if cycle in bodies:
            return
        for old in [c for c in bodies if c > 1]:
            del bodies[old], etags[old]
        bodies[cycle] = [feed_body(i, cycle) for i in range(feeds)]
        etags[cycle] = [f'"{hashlib.sha1(b).hexdigest()}"' for b in bodies[cycle]]

    build(0)
    build(1)
    state = {"cycle": 0, "requests": 0}
    served: set[int] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
                status, body, etag = _answer(path, headers.get("if-none-match"))
                extra = f"ETag: {etag}\r\n" if etag else ""
                writer.write(
                    f"HTTP/1.1 {status}\r\nContent-Type: application/rss+xml\r\n{extra}"
                    f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        writer.close()

    def _answer(path: str, if_none_match: str | None) -> tuple[str, bytes, str | None]:
        if path.startswith("/_cycle/"):
            state["cycle"], state["requests"] = int(path.rsplit("/", 1)[1]), 0
            served.clear()
            build(state["cycle"])
            return "200 OK", b"ok", None
        if path == "/_served":
            return "200 OK", f"{len(served)} {state['requests']}".encode(), None
        try:
            feed = int(path.rsplit("/", 1)[1].removesuffix(".xml"))
            body, etag = bodies[state["cycle"]][feed], etags[state["cycle"]][feed]
        except (ValueError, IndexError):
            return "404 Not Found", b"", None
        served.add(feed)
        state["requests"] += 1
        if if_none_match == etag:
            return "304 Not Modified", b"", etag
        return "200 OK", body, etag

    async def main() -> None:
        server = await asyncio.start_server(handle, sock=sock, backlog=1024)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def start_server(feeds: int) -> tuple[multiprocessing.Process, str]:
    """Start the feed server in its own process; return it and its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    process = ctx.Process(target=_serve, args=(sock, feeds, ready), daemon=True)
    process.start()
    if not ready.wait(300):
        raise RuntimeError("the feed server did not start")
    port = sock.getsockname()[1]
    sock.close()
    return process, f"http://127.0.0.1:{port}"


def set_cycle(base: str, cycle: int) -> None:
    """Switch the feed server at ``base`` (:func:`start_server`'s URL) to ``cycle``."""
    with urllib.request.urlopen(f"{base}/_cycle/{cycle}", timeout=120) as answer:
        answer.read()


def served(base: str) -> tuple[int, int]:
    """Distinct feeds and feed requests the server at ``base`` served since the last
    :func:`set_cycle`."""
    with urllib.request.urlopen(f"{base}/_served", timeout=120) as answer:
        feeds, requests = answer.read().split()
    return int(feeds), int(requests)
