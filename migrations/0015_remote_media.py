"""Remote media through our own cache (issue 18): remote_media keeps each file another server
hosts once fetched and checked; attachment keeps what a remote post says of its files (kind,
size, blurhash, focal point, a video's still). Every new attachment column has a db_default
or is nullable, so existing rows need nothing."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from fediverse_intranet.models.posts import RemoteMediaState
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0014_remote_post_kinds')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RemoteMedia',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('url_hash', fields.CharField(unique=True, max_length=64)),
                ('url', fields.CharField(max_length=1024)),
                ('kind', fields.CharField(max_length=8)),
                ('state', fields.CharEnumField(default=RemoteMediaState.NEW, description='NEW: new\nCACHED: cached\nREFUSED: refused', enum_type=RemoteMediaState, max_length=8)),
                ('media_type', fields.CharField(default='', max_length=32)),
                ('filename', fields.CharField(default='', max_length=100)),
                ('size', fields.BigIntField(default=0)),
                ('reason', fields.CharField(default='', max_length=200)),
                ('attempts', fields.IntField(default=0)),
                ('retry_after', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('fetched_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'remote_media', 'app': 'models', 'pk_attr': 'id', 'table_description': "A file another server hosts (a post's image, video or audio, a video's still, a"},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='Attachment',
            options={'table': 'attachment', 'app': 'models', 'indexes': [Index(fields=['post_id', 'id']), Index(fields=['filename'])], 'pk_attr': 'id', 'table_description': 'An uploaded image, or a file of a remote post. ``post`` is set once the post that'},
        ),
        ops.AddField(
            model_name='Attachment',
            name='blurhash',
            field=fields.CharField(default='', db_default='', max_length=100),
        ),
        ops.AddField(
            model_name='Attachment',
            name='focal_x',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='Attachment',
            name='focal_y',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='Attachment',
            name='kind',
            field=fields.CharField(default='image', db_default='image', max_length=8),
        ),
        ops.AddField(
            model_name='Attachment',
            name='preview_url',
            field=fields.CharField(default='', db_default='', max_length=1024),
        ),
        ops.AddField(
            model_name='Attachment',
            name='size',
            field=fields.BigIntField(default=0, db_default=0),
        ),
    ]
