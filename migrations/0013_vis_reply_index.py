"""An index on the post a reply answers: lists count the replies each viewer may see
(``services.visibility.visible_reply_counts``), which without it read the whole post table
(50 ms a page at 100,000 posts)."""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0012_auth_media_indexes")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Post",
            index=Index(fields=["in_reply_to_id", "id"]),
        ),
    ]
