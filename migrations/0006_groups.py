from tortoise import migrations
from tortoise.migrations import operations as ops
from fediverse_intranet.models.groups import GroupAccess, GroupKind, MemberRole, MemberState
from fediverse_intranet.models.posts import Visibility
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0005_reply_uri_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Group',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.OneToOneField('models.Actor', source_field='actor_id', db_constraint=True, to_field='id', related_name='group', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(default=GroupKind.THEME, description='UNIT: unit\nPROJECT: project\nTHEME: theme', enum_type=GroupKind, max_length=16)),
                ('access', fields.CharEnumField(default=GroupAccess.OPEN, description='OPEN: open\nCLOSED: closed\nSECRET: secret', enum_type=GroupAccess, max_length=16)),
                ('ends_on', fields.DateField(null=True)),
                ('archived_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'community', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Membership',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('group', fields.ForeignKeyField('models.Group', source_field='group_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('actor', fields.ForeignKeyField('models.Actor', source_field='actor_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('role', fields.CharEnumField(default=MemberRole.MEMBER, description='OWNER: owner\nMODERATOR: moderator\nMEMBER: member', enum_type=MemberRole, max_length=16)),
                ('state', fields.CharEnumField(default=MemberState.MEMBER, description='INVITED: invited\nPENDING: pending\nMEMBER: member\nBANNED: banned', enum_type=MemberState, max_length=16)),
                ('uri', fields.CharField(default='', max_length=512)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'membership', 'app': 'models', 'unique_together': (('group', 'actor'),), 'indexes': [Index(fields=['actor_id', 'state']), Index(fields=['group_id', 'state', 'role'])], 'pk_attr': 'id', 'table_description': 'A person (here or elsewhere) in a group (here or elsewhere). For a remote person in a'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Actor',
            name='kind',
            field=fields.CharField(default='person', db_default='person', max_length=16),
        ),
        ops.AlterField(
            model_name='Post',
            name='visibility',
            field=fields.CharEnumField(default=Visibility.PUBLIC, description='PUBLIC: public\nORGANISATION: organisation\nFOLLOWERS: followers\nDIRECT: direct\nMEMBERS: members', enum_type=Visibility, max_length=16),
        ),
        ops.AddField(
            model_name='Post',
            name='group',
            field=fields.ForeignKeyField('models.Group', source_field='group_id', null=True, db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Post',
            name='locked_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Post',
            name='pinned_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Post',
            index=Index(fields=['group_id', 'id']),
        ),
    ]
