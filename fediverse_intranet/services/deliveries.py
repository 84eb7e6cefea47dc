"""Delivery jobs, written by domain services in the same transaction as what they announce.

A post and the deliveries that announce it commit together or not at all, so a crash can
neither lose a delivery nor send one for a post that was never saved.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from fediverse_intranet.models import Actor, Delivery
from fediverse_intranet.services.clock import now


def inboxes_of(recipients: Iterable[Actor]) -> list[str]:
    """One inbox per server where it offers a shared inbox, else each person's own."""
    chosen: list[str] = []
    for actor in recipients:
        if actor.is_local:
            continue
        inbox = actor.shared_inbox_url or actor.inbox_url
        if inbox and inbox not in chosen:
            chosen.append(inbox)
    return chosen


async def enqueue(activity: dict[str, Any], signer: Actor, inboxes: Iterable[str]) -> int:
    """Queue ``activity`` for each inbox once; returns how many deliveries were added."""
    activity_id = str(activity["id"])
    body = json.dumps(activity, ensure_ascii=False, separators=(",", ":"))
    wanted = list(dict.fromkeys(i for i in inboxes if urlsplit(i).scheme in ("http", "https")))
    if not wanted:
        return 0
    existing = set(
        await Delivery.filter(activity_id=activity_id, inbox_url__in=wanted).values_list(
            "inbox_url", flat=True
        )
    )
    current = now()
    rows = [
        Delivery(
            activity_id=activity_id,
            body=body,
            inbox_url=inbox,
            host=urlsplit(inbox).netloc.lower(),
            signer=signer,
            next_attempt_at=current,
        )
        for inbox in wanted
        if inbox not in existing
    ]
    await Delivery.bulk_create(rows)
    return len(rows)
