"""Put back five indexes that SQLite lost.

On SQLite an AlterField rebuilds the table, and tortoise 1.1.9 does not re-create the
table's indexes: 0006 (Post.visibility) dropped the post indexes on (author_id, id),
(visibility, id) and (in_reply_to_uri); 0007 (Notification.kind) dropped both notification
indexes. Without them every stored remote post scanned the whole post table for replies
that came before it (2.3 ms at 10,000 posts), and profiles and notifications scanned too.
PostgreSQL kept its indexes; the names here are the ones it has, and ``IF NOT EXISTS`` makes
this a no-op there. ``tests/test_migrations.py`` now checks every declared index exists.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

INDEXES = (
    ("idx_post_author__678df5", "post", ("author_id", "id")),
    ("idx_post_visibil_2b9948", "post", ("visibility", "id")),
    ("idx_post_in_repl_c05b1d", "post", ("in_reply_to_uri",)),
    ("idx_notificatio_recipie_ece159", "notification", ("recipient_id", "read_at")),
    ("idx_notificatio_recipie_ec01ad", "notification", ("recipient_id", "id")),
)


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client
    for name, table, columns in INDEXES:
        quoted = ", ".join(f'"{column}"' for column in columns)
        await client.execute_script(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({quoted})')


async def backward(apps, schema_editor) -> None:
    """Nothing: the indexes belong to the migrations that declared them."""


class Migration(migrations.Migration):
    dependencies = [("models", "0009_search")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
