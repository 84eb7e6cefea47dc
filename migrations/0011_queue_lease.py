"""Inbox items get the queue columns deliveries have: ``next_attempt_at`` and ``claimed_until``.

Until now a pending item's ``processed_at`` held the time before which nobody might take it
(the end of a lease or of a back-off); that moves to ``next_attempt_at``, so ``processed_at``
only says when an item was done or failed. Both columns are nullable (AddField on a
populated table; no AlterField, which on SQLite rebuilds the table without its indexes).
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


async def forward(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(
        "UPDATE inbox_item SET next_attempt_at = processed_at, processed_at = NULL"
        " WHERE state = 'pending' AND processed_at IS NOT NULL"
    )


async def backward(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(
        "UPDATE inbox_item SET processed_at = next_attempt_at"
        " WHERE state = 'pending' AND next_attempt_at IS NOT NULL"
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0010_restore_sqlite_indexes")]

    initial = False

    operations = [
        ops.AddField(
            model_name="InboxItem",
            name="claimed_until",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="InboxItem",
            name="next_attempt_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunPython(forward, backward),
    ]
