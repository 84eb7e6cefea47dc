"""Full-text search: the index tables and the triggers that queue every change for it.

Hand-written (no model changes): FTS5 tables on SQLite, tsvector tables under GIN on
PostgreSQL (see ``services.search_index``). Rows that exist already are queued, so the first
searches, or ``fediverse-intranet reindex``, index them.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

from fediverse_intranet.services import search_index


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client
    for statement in search_index.schema(client.capabilities.dialect):
        await client.execute_script(statement)
    await client.execute_script(
        "INSERT INTO search_queue (kind, ref_id) SELECT 'actor', id FROM actor;"
        " INSERT INTO search_queue (kind, ref_id) SELECT 'post', id FROM post"
        " WHERE deleted_at IS NULL"
    )


async def backward(apps, schema_editor) -> None:
    client = schema_editor.client
    for statement in search_index.unschema(client.capabilities.dialect):
        await client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("models", "0008_expertise")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
