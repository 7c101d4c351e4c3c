"""One total deadline per send attempt and a capped answer (issue #14 point 6).

Each notifier is sent a digest against a raw server on 127.0.0.1 that never
finishes: a trickle of bytes (so no per-read timeout ever fires) or a 200 whose
body never ends. A send that has no status by the deadline fails as retryable with
the deadline's words; a 200 whose body never ends is accepted once, its body cut.
The tests bound their own wait (``asyncio.wait_for``) so the code before
this change fails them instead of hanging.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from monitor.errors import DeliveryError
from monitor.notify import build_notifier
from monitor.notify.deadline import overrun
from monitor.notify.render import Renderer
from tests.integration.slow_servers import RawServer, endless_body, trickle
from tests.integration.test_channels import channel, make_digest, make_story

TEST_BOUND = 30.0  # seconds this test waits for a send before calling it hung


def _send(config: object) -> DeliveryError | str:
    """Send one digest through a fresh notifier: the DeliveryError it raised, or its answer."""

    async def go() -> DeliveryError | str:
        async with httpx.AsyncClient() as http:
            notifier = build_notifier("slow", config, Renderer(), http)  # type: ignore[arg-type]
            try:
                return await asyncio.wait_for(notifier.send(make_digest(make_story(1))), TEST_BOUND)
            except DeliveryError as exc:
                return exc

    # Not asyncio.run: it would wait for a send thread left running (as before this change).
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(go())
    finally:
        loop.close()


@pytest.mark.parametrize("kind", ["webhook", "slack"])
def test_an_answer_that_trickles_forever_hits_the_attempts_deadline(kind: str) -> None:
    with RawServer(trickle(0.1, b"H")) as server:
        url = server.url("/hook?token=s3cr3t")
        config = (
            channel(type="webhook", url=url, timeout="1s")
            if kind == "webhook"
            else channel(type="slack", webhook_url=url, timeout="1s")
        )
        error = _send(config)
    assert error.retryable is True
    assert str(error) == f"timeout: no answer from 127.0.0.1:{server.port} within 1s"
    assert overrun(0.0) == []  # the attempt is over, not left running


def test_an_endless_answer_is_read_up_to_64_kib_and_the_2xx_stands() -> None:
    """The status is the acceptance: the body is cut at the cap, the message not resent."""
    with RawServer(endless_body()) as server:
        config = channel(type="webhook", url=server.url("/hook"), timeout="20s")
        answer = _send(config)
    assert answer == f"HTTP 200 from 127.0.0.1:{server.port} (answer cut after 65536 bytes)"


def test_a_2xx_whose_body_trickles_past_the_deadline_is_accepted_once() -> None:
    """Status 200 arrived: a body still trickling near the deadline is cut, not retried."""
    with RawServer(endless_body(chunk=1, pause=0.2)) as server:
        config = channel(type="webhook", url=server.url("/hook"), timeout="2s")
        answer = _send(config)
    assert isinstance(answer, str), answer
    assert answer.startswith(f"HTTP 200 from 127.0.0.1:{server.port} (answer cut after ")


def test_an_smtp_server_that_never_finishes_its_greeting_is_cut_off() -> None:
    """The whole conversation is bounded, and its thread ends (the socket is shut)."""
    with RawServer(trickle(0.1)) as server:
        config = channel(
            type="email",
            smtp={"host": "127.0.0.1", "port": server.port},
            to=["a@example.org"],
            **{"from": "monitor@example.org"},
            timeout="1s",
        )
        error = _send(config)
        deadline = time.monotonic() + 10
        while server.finished < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        finished = server.finished
    assert error.retryable is True
    assert str(error) == f"timeout: no answer from 127.0.0.1:{server.port} within 1s"
    assert finished == 1  # the client closed: no thread left reading the trickle
