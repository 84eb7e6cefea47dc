from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_federated_content')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Post',
            index=Index(fields=['in_reply_to_uri']),
        ),
    ]
