from tortoise import migrations
from tortoise.migrations import operations as ops
from fediverse_intranet.models.notifications import NotificationKind
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_groups')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Notification',
            name='kind',
            field=fields.CharEnumField(description='MENTION: mention\nREPLY: reply\nLIKE: like\nFOLLOW: follow\nBOOST: boost\nGROUP_REQUEST: group_request\nGROUP_INVITE: group_invite', enum_type=NotificationKind, max_length=16),
        ),
    ]
