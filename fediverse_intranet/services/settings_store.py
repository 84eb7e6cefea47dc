"""Instance settings an admin changes in the browser, kept in the database."""

from __future__ import annotations

from fediverse_intranet.models import InstanceSetting


async def get(key: str, default: str = "") -> str:
    row = await InstanceSetting.filter(key=key).first()
    return row.value if row else default


async def put(key: str, value: str) -> None:
    await InstanceSetting.update_or_create(defaults={"value": value}, key=key)
