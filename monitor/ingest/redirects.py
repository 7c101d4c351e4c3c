"""Following a fetch's redirects ourselves, so that each target is ours to judge.

httpx would follow them too, but it parses a ``Location`` before anyone sees it and
raises for one it cannot read (``data:``, ``javascript:``, ``http://0177.0.0.1/``),
which reached the daemon's log as a traceback. Here every target is resolved
against the current URL, must be an http(s) URL we can send
(:func:`monitor.ingest.urlguard.check_form`, a one-line FetchError otherwise), and
is then requested with the same headers and extensions, so a guarded client applies
the SSRF rule (with the same allowance) to it. At most :data:`MAX_REDIRECTS`.

    async with final_response(client, url, headers=h, extensions=e, timeout=t) as (
        response, permanent_url,
    ):
        ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urljoin

import httpx

from monitor.errors import FetchError
from monitor.ingest.urlguard import check_form
from monitor.redact import redact_url

MAX_REDIRECTS = 5
PERMANENT = (301, 308)
REDIRECTS = (301, 302, 303, 307, 308)  # followed when they carry a Location (RFC 9110 15.4)
MANUAL_REDIRECTS = "monitor.manual_redirects"  # request extension: we follow them here
KEPT_LOCATION = "X-Monitor-Location"  # where keep_location puts a redirect's Location


async def keep_location(response: httpx.Response) -> None:
    """Response hook (:func:`monitor.ingest.fetch.make_client`): move the ``Location``
    of a redirect answering :func:`final_response` out of httpx's sight, for us to read."""
    if MANUAL_REDIRECTS in response.request.extensions and "Location" in response.headers:
        response.headers[KEPT_LOCATION] = response.headers.pop("Location")


@asynccontextmanager
async def final_response(
    client: httpx.AsyncClient,
    url: str,
    *,
    headers: dict[str, str],
    extensions: dict[str, str],
    timeout: float,
) -> AsyncIterator[tuple[httpx.Response, str | None]]:
    """The streamed answer to GET ``url`` after its redirects, and the target of its
    leading chain of 301/308 redirects (None without one): where the feed now lives.

    Raise FetchError (kind ``redirects``) after :data:`MAX_REDIRECTS`, or the
    guard's one-line FetchError for a target we may not or cannot fetch.
    """
    extensions = {**extensions, MANUAL_REDIRECTS: "1"}
    hops: list[tuple[int, str]] = []  # (status, target) of each redirect followed
    current = url
    while True:
        async with client.stream(
            "GET",
            current,
            headers=headers,
            timeout=timeout,
            extensions=extensions,
            follow_redirects=False,
        ) as response:
            location = response.headers.get(KEPT_LOCATION) or response.headers.get("Location")
            if response.status_code not in REDIRECTS or location is None:
                yield response, permanent_target(hops)
                return
        if len(hops) == MAX_REDIRECTS:
            raise FetchError("redirects", f"{redact_url(url)}: more than {MAX_REDIRECTS} redirects")
        target = _resolve(current, location)
        try:
            check_form(target)
        except FetchError as exc:
            raise FetchError(exc.kind, f"{redact_url(url)}: redirect to {exc}") from None
        hops.append((response.status_code, target))
        current = target


def _resolve(current: str, location: str) -> str:
    """``location`` made absolute against ``current`` (RFC 9110 10.2.2); as written
    when it is not a URL at all, for the guard to say so."""
    try:
        return urljoin(current, location.strip(" "))
    except ValueError:
        return location


def permanent_target(hops: list[tuple[int, str]]) -> str | None:
    """The target of the leading chain of 301/308 redirects in ``hops``, if any."""
    permanent = None
    for status, target in hops:
        if status not in PERMANENT:
            break
        permanent = target
    return permanent
