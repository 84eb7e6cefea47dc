"""Collections as JSON: ordered collections and their pages, hashtag collections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .context import CONTEXT
from .docs import Link, embedded


def hashtag_collection(id: str, tags: Sequence[Link]) -> dict[str, Any]:
    """Hashtags as a Collection (Mastodon's featured tags of a profile)."""
    return {
        "@context": CONTEXT,
        "id": id,
        "type": "Collection",
        "totalItems": len(tags),
        "items": [{"type": "Hashtag", "href": t.href, "name": f"#{t.name}"} for t in tags],
    }


def ordered_collection(
    id: str, total: int, first: str | None = None, items: Sequence[Any] | None = None
) -> dict[str, Any]:
    """An OrderedCollection: its count, and its first page or (small ones) its items."""
    out: dict[str, Any] = {
        "@context": CONTEXT,
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if first is not None:
        out["first"] = first
    if items is not None:
        out["orderedItems"] = [embedded(i) if isinstance(i, Mapping) else i for i in items]
    return out


def ordered_collection_page(
    id: str, part_of: str, items: Sequence[Any], next: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "@context": CONTEXT,
        "id": id,
        "type": "OrderedCollectionPage",
        "partOf": part_of,
        "orderedItems": [embedded(i) if isinstance(i, Mapping) else i for i in items],
    }
    if next is not None:
        out["next"] = next
    return out
