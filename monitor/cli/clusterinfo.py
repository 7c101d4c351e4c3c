"""``news-monitor status`` on several instances: where the store is, which instances
share it and who holds which lease.

Split from :mod:`monitor.cli.statusinfo` (which writes the store section with
:func:`cluster_lines`; ``status`` calls :func:`store_info` and :func:`cluster`): the data of
the cluster part (``status --json``'s ``store`` and ``cluster``) and its INSTANCES and
STALE LEASES lines. Feed URLs in leases are redacted; the store URL holds no password.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.redact import redact_url
from monitor.store.sqlite import DB_NAME, Store

if TYPE_CHECKING:
    from monitor.config import MonitorConfig

MAX_STALE_SHOWN = 20  # stale leases listed; the rest are counted


def store_info(config: MonitorConfig) -> dict[str, Any]:
    """Where the state is, as ``status`` may show it: ``{"backend": "sqlite", "path":
    …}``, or ``{"backend": "postgresql", "url": …, "pool_size": …, "lease_seconds": …}``
    with the URL as :attr:`~monitor.config.store.StoreSettings.shown_url` (no password:
    the URL never holds one)."""
    settings = config.store
    if settings is None:
        return {"backend": "sqlite", "path": str(config.state_dir / DB_NAME)}
    return {
        "backend": "postgresql",
        "url": settings.shown_url,
        "pool_size": settings.pool_size,
        "lease_seconds": settings.lease.total_seconds(),
    }


def cluster(store: Store) -> dict[str, Any]:
    """The instances sharing ``store`` and the leases they hold (issue #17).

    ``instances``: each registered instance, the latest heartbeat first: ``owner``,
    ``alive`` (a heartbeat in the last 30 s), ``started_at`` and ``heartbeat_at`` (UTC),
    ``info`` (what it registered: host, pid, version), ``feeds_held`` (running feed
    leases), ``channels_held`` (names) and ``fenced_commits`` (refused commits it
    recorded in ``info``, None when it records none). ``unregistered``: holders of
    running leases that have no instance row. ``stale_leases``: leases that ran out
    and were not taken over yet (at most :data:`MAX_STALE_SHOWN`; feed URLs redacted),
    ``stale_count`` all of them; ``fenced_commits`` the instances' sum (None if none
    records it). Times from the database's clock on PostgreSQL.
    """
    from monitor.store.cluster import instances, lease_table

    members = instances(store)
    leases = lease_table(store)
    held: dict[str, dict[str, Any]] = {}
    for lease in leases:
        if not lease.stale:
            entry = held.setdefault(lease.owner, {"feeds_held": 0, "channels_held": []})
            if lease.kind == "feed":
                entry["feeds_held"] += 1
            else:
                entry["channels_held"].append(lease.key)
    nothing = {"feeds_held": 0, "channels_held": []}
    rows = [
        {
            "owner": m.owner,
            "alive": not m.gone,
            "started_at": m.started_at,
            "heartbeat_at": m.heartbeat_at,
            "info": m.info,
            **held.get(m.owner, nothing),
            "fenced_commits": m.info.get("fenced_commits"),
        }
        for m in members
    ]
    known = {m.owner for m in members}
    stale = [lease for lease in leases if lease.stale]
    recorded = [r["fenced_commits"] for r in rows if isinstance(r["fenced_commits"], int)]
    return {
        "instances": rows,
        "unregistered": [{"owner": o, **h} for o, h in sorted(held.items()) if o not in known],
        "stale_leases": [
            {
                "kind": lease.kind,
                "key": redact_url(lease.key) if lease.kind == "feed" else lease.key,
                "owner": lease.owner,
                "epoch": lease.epoch,
                "until": lease.until,
            }
            for lease in stale[:MAX_STALE_SHOWN]
        ],
        "stale_count": len(stale),
        "fenced_commits": sum(recorded) if recorded else None,
    }


def cluster_lines(
    members: dict[str, Any], shown: Callable[[str | datetime | None], str]
) -> list[str]:
    """The INSTANCES and STALE LEASES lines of :func:`cluster`'s report (``members``).

    ``shown`` writes a UTC time (a heartbeat, a lease's end) for people: ``status``
    passes its ``local_time`` in the config's time zone.
    """
    alive = sum(1 for m in members["instances"] if m["alive"])
    lines = [f"INSTANCES: {alive} alive, {len(members['instances']) - alive} gone"]
    for m in members["instances"]:
        state = "alive" if m["alive"] else "GONE"
        beat = shown(m["heartbeat_at"])
        lines.append(
            f"  {m['owner']}{_about(m['info'])}: {state}, last heartbeat {beat}; {_holds(m)}"
        )
    for m in members["unregistered"]:
        lines.append(f"  {m['owner']} (not registered): {_holds(m)}")
    if members["fenced_commits"] is not None:
        lines.append(f"  fenced commits: {members['fenced_commits']} (should stay 0)")
    if not members["stale_count"]:
        return lines
    lines.append(
        f"STALE LEASES: {members['stale_count']} ran out without being released"
        " (taken over when due)"
    )
    for s in members["stale_leases"]:
        lines.append(
            f"  {s['kind']} {s['key']}: {s['owner']}, epoch {s['epoch']},"
            f" ran out {shown(s['until'])}"
        )
    more = members["stale_count"] - len(members["stale_leases"])
    if more:
        lines.append(f"  … and {more} more")
    return lines


def _about(info: dict[str, Any]) -> str:
    """`` (host h1, pid 42, version 1.2)`` from what an instance registered, or ''."""
    parts = [f"{key} {info[key]}" for key in ("host", "pid", "version") if info.get(key)]
    return f" ({', '.join(parts)})" if parts else ""


def _holds(entry: dict[str, Any]) -> str:
    feeds, channels = entry["feeds_held"], entry["channels_held"]
    if not feeds and not channels:
        return "holds no lease"
    what = [f"{feeds} feed{'s' if feeds != 1 else ''}"] if feeds else []
    if channels:
        what.append(f"channel{'s' if len(channels) != 1 else ''} {', '.join(channels)}")
    return "holds " + " and ".join(what)
