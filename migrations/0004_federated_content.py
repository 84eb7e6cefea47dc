from tortoise import migrations
from tortoise.migrations import operations as ops
from fediverse_intranet.models.notifications import NotificationKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_attachment_post_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Block',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('blocker', fields.ForeignKeyField('models.Actor', source_field='blocker_id', db_constraint=True, to_field='id', related_name='blocking', on_delete=OnDelete.CASCADE)),
                ('target', fields.ForeignKeyField('models.Actor', source_field='target_id', db_constraint=True, to_field='id', related_name='blocked_by', on_delete=OnDelete.CASCADE)),
                ('uri', fields.CharField(default='', max_length=512)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'actor_block', 'app': 'models', 'unique_together': (('blocker', 'target'),), 'pk_attr': 'id', 'table_description': 'A remote person blocks one of ours: no follows either way, nothing delivered to them.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Boost',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.ForeignKeyField('models.Actor', source_field='actor_id', db_constraint=True, to_field='id', related_name='boosts', on_delete=OnDelete.CASCADE)),
                ('post', fields.ForeignKeyField('models.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='boosts', on_delete=OnDelete.CASCADE)),
                ('uri', fields.CharField(unique=True, max_length=512)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'boost', 'app': 'models', 'unique_together': (('actor', 'post'),), 'indexes': [Index(fields=['actor_id', 'id'])], 'pk_attr': 'id', 'table_description': 'Someone shares a post with their followers (an ActivityPub ``Announce``).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Report',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('uri', fields.CharField(default='', max_length=512)),
                ('reporter', fields.ForeignKeyField('models.Actor', source_field='reporter_id', null=True, db_constraint=True, to_field='id', related_name='reports_made', on_delete=OnDelete.SET_NULL)),
                ('origin', fields.CharField(default='', max_length=255)),
                ('target', fields.ForeignKeyField('models.Actor', source_field='target_id', null=True, db_constraint=True, to_field='id', related_name='reports_about', on_delete=OnDelete.CASCADE)),
                ('post_uris', fields.TextField(default='[]', unique=False)),
                ('comment', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolved_by', fields.ForeignKeyField('models.Account', source_field='resolved_by_id', null=True, db_constraint=True, to_field='id', related_name='reports_resolved', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'report', 'app': 'models', 'indexes': [Index(fields=['resolved_at', 'id']), Index(fields=['uri'])], 'pk_attr': 'id', 'table_description': "A complaint for the moderators' queue: from a remote server (``Flag``) or a colleague."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Attachment',
            name='remote_url',
            field=fields.CharField(default='', db_default='', max_length=1024),
        ),
        ops.AddField(
            model_name='Follow',
            name='uri',
            field=fields.CharField(default='', db_default='', max_length=512),
        ),
        ops.AddField(
            model_name='Like',
            name='uri',
            field=fields.CharField(default='', db_default='', max_length=512),
        ),
        ops.AddIndex(
            model_name='Like',
            index=Index(fields=['uri']),
        ),
        ops.AlterField(
            model_name='Notification',
            name='kind',
            field=fields.CharEnumField(description='MENTION: mention\nREPLY: reply\nLIKE: like\nFOLLOW: follow\nBOOST: boost', enum_type=NotificationKind, max_length=16),
        ),
        ops.AddField(
            model_name='Post',
            name='boost_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Post',
            name='in_reply_to_uri',
            field=fields.CharField(default='', db_default='', max_length=512),
        ),
        ops.AddField(
            model_name='Post',
            name='summary',
            field=fields.CharField(default='', db_default='', max_length=500),
        ),
        ops.AddField(
            model_name='Post',
            name='url',
            field=fields.CharField(default='', db_default='', max_length=512),
        ),
    ]
