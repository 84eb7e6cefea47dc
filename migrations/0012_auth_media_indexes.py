"""Indexes for ``/media/{name}``: which attachment or photo a stored file is."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0011_queue_lease')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Actor',
            index=Index(fields=['photo']),
        ),
        ops.AddIndex(
            model_name='Attachment',
            index=Index(fields=['filename']),
        ),
    ]
