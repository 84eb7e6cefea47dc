"""What other servers send besides a note (issue 18): the remote object type, a warning
without a summary, the quoted post, the text's language and its other languages
(post_variant), a poll's answers (poll_option) and state, an event's time and place. Every
new column of post has a db_default, so existing rows need nothing."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0013_vis_reply_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PollOption',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('models.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='poll_options', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('name', fields.CharField(max_length=200)),
                ('votes', fields.IntField(default=0)),
            ],
            options={'table': 'poll_option', 'app': 'models', 'unique_together': (('post', 'position'),), 'pk_attr': 'id', 'table_description': 'One answer of a remote poll and its votes, as its server last said (read only here).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PostVariant',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('models.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='variants', on_delete=OnDelete.CASCADE)),
                ('language', fields.CharField(max_length=16)),
                ('title', fields.CharField(default='', max_length=200)),
                ('summary', fields.CharField(default='', max_length=500)),
                ('content_html', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'post_variant', 'app': 'models', 'unique_together': (('post', 'language'),), 'pk_attr': 'id', 'table_description': "A remote post's text in another language (``contentMap``): chosen for a reader whose"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Post',
            name='event_address',
            field=fields.CharField(default='', db_default='', max_length=300),
        ),
        ops.AddField(
            model_name='Post',
            name='event_ends_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Post',
            name='event_place',
            field=fields.CharField(default='', db_default='', max_length=300),
        ),
        ops.AddField(
            model_name='Post',
            name='event_starts_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Post',
            name='language',
            field=fields.CharField(default='', db_default='', max_length=16),
        ),
        ops.AddField(
            model_name='Post',
            name='object_type',
            field=fields.CharField(default='', db_default='', max_length=16),
        ),
        ops.AddField(
            model_name='Post',
            name='poll_closed',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Post',
            name='poll_ends_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Post',
            name='poll_multiple',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Post',
            name='poll_voters',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Post',
            name='quote_uri',
            field=fields.CharField(default='', db_default='', max_length=512),
        ),
        ops.AddField(
            model_name='Post',
            name='sensitive',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
