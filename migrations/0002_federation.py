from tortoise import migrations
from tortoise.migrations import operations as ops
from fediverse_intranet.models.federation import WorkState
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Delivery',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity_id', fields.CharField(max_length=512)),
                ('body', fields.TextField(unique=False)),
                ('inbox_url', fields.CharField(max_length=512)),
                ('host', fields.CharField(max_length=255)),
                ('signer', fields.ForeignKeyField('models.Actor', source_field='signer_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('state', fields.CharEnumField(default=WorkState.PENDING, description='PENDING: pending\nDONE: done\nFAILED: failed', enum_type=WorkState, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_status', fields.IntField(null=True)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'delivery', 'app': 'models', 'unique_together': (('activity_id', 'inbox_url'),), 'indexes': [Index(fields=['state', 'next_attempt_at']), Index(fields=['host', 'state'])], 'pk_attr': 'id', 'table_description': 'One activity to POST to one inbox, with its retry state.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeliveryHost',
            fields=[
                ('host', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('failures', fields.IntField(default=0)),
                ('unavailable_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_success_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'delivery_host', 'app': 'models', 'pk_attr': 'host', 'table_description': "A remote server's health: hosts that keep failing rest before they are tried again."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InboxItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity_id', fields.CharField(unique=True, max_length=512)),
                ('activity_type', fields.CharField(max_length=64)),
                ('actor_uri', fields.CharField(max_length=512)),
                ('recipient', fields.ForeignKeyField('models.Actor', source_field='recipient_id', null=True, db_constraint=True, to_field='id', related_name='inbox_items', on_delete=OnDelete.SET_NULL)),
                ('body', fields.TextField(unique=False)),
                ('state', fields.CharEnumField(default=WorkState.PENDING, description='PENDING: pending\nDONE: done\nFAILED: failed', enum_type=WorkState, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('error', fields.TextField(default='', unique=False)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('processed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inbox_item', 'app': 'models', 'indexes': [Index(fields=['state', 'id'])], 'pk_attr': 'id', 'table_description': 'An activity accepted by an inbox (signature checked), waiting for its handler.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Actor',
            name='fetched_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Actor',
            name='followers_url',
            field=fields.CharField(default='', db_default='', max_length=512),
        ),
        ops.AddField(
            model_name='Actor',
            name='inbox_url',
            field=fields.CharField(default='', db_default='', max_length=512),
        ),
        ops.AddField(
            model_name='Actor',
            name='outbox_url',
            field=fields.CharField(default='', db_default='', max_length=512),
        ),
        ops.AddField(
            model_name='Actor',
            name='private_key_pem',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='Actor',
            name='profile_url',
            field=fields.CharField(default='', db_default='', max_length=512),
        ),
        ops.AddField(
            model_name='Actor',
            name='public_key_pem',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='Actor',
            name='shared_inbox_url',
            field=fields.CharField(default='', db_default='', max_length=512),
        ),
    ]
