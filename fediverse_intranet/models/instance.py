"""Instance-wide settings an admin changes in the browser (not in the environment)."""

from tortoise import fields
from tortoise.models import Model


class InstanceSetting(Model):
    key = fields.CharField(max_length=64, primary_key=True)
    value = fields.TextField(default="")

    class Meta:
        table = "instance_setting"
