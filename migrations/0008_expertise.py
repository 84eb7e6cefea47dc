from tortoise import migrations
from tortoise.migrations import operations as ops
from fediverse_intranet.models.expertise import TopicLinkKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0007_group_notifications')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Endorsement',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('endorser', fields.ForeignKeyField('models.Actor', source_field='endorser_id', db_constraint=True, to_field='id', related_name='endorsements_given', on_delete=OnDelete.CASCADE)),
                ('person', fields.ForeignKeyField('models.Actor', source_field='person_id', db_constraint=True, to_field='id', related_name='endorsements', on_delete=OnDelete.CASCADE)),
                ('tag', fields.ForeignKeyField('models.Tag', source_field='tag_id', db_constraint=True, to_field='id', related_name='endorsements', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'endorsement', 'app': 'models', 'unique_together': (('endorser', 'person', 'tag'),), 'indexes': [Index(fields=['person_id', 'tag_id'])], 'pk_attr': 'id', 'table_description': 'A colleague vouches that ``person`` knows about ``tag``.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ExpertiseScore',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.ForeignKeyField('models.Actor', source_field='actor_id', db_constraint=True, to_field='id', related_name='expertise', on_delete=OnDelete.CASCADE)),
                ('tag', fields.ForeignKeyField('models.Tag', source_field='tag_id', db_constraint=True, to_field='id', related_name='expertise', on_delete=OnDelete.CASCADE)),
                ('score', fields.FloatField(default=0.0)),
                ('declared_level', fields.IntField(default=0)),
                ('endorsements', fields.IntField(default=0)),
                ('posts', fields.IntField(default=0)),
                ('appreciations', fields.IntField(default=0)),
                ('answers', fields.IntField(default=0)),
                ('groups', fields.IntField(default=0)),
                ('moderates', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'expertise_score', 'app': 'models', 'unique_together': (('actor', 'tag'),), 'indexes': [Index(fields=['tag_id', 'score'])], 'pk_attr': 'id', 'table_description': 'A person\'s score on a topic, with the evidence that makes it (for "why this person").'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TopicLink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tag', fields.ForeignKeyField('models.Tag', source_field='tag_id', db_constraint=True, to_field='id', related_name='links', on_delete=OnDelete.CASCADE)),
                ('canonical', fields.ForeignKeyField('models.Tag', source_field='canonical_id', db_constraint=True, to_field='id', related_name='linked', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(default=TopicLinkKind.SYNONYM, description='SYNONYM: synonym\nRELATED: related', enum_type=TopicLinkKind, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'topic_link', 'app': 'models', 'unique_together': (('tag', 'canonical'),), 'pk_attr': 'id', 'table_description': "An admin's merge of topics: ``tag`` is a synonym of, or related to, ``canonical``."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Actor',
            name='indexable',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='ActorTopic',
            name='level',
            field=fields.IntField(default=0, db_default=0),
        ),
    ]
