"""Database models. They hold data; rules live in ``fediverse_intranet.services``."""

from fediverse_intranet.models.accounts import (
    Account,
    Invitation,
    LoginFailure,
    PasswordReset,
    Role,
    WebSession,
)
from fediverse_intranet.models.actors import Actor, ActorTopic, Presence
from fediverse_intranet.models.expertise import (
    Endorsement,
    ExpertiseScore,
    TopicLink,
    TopicLinkKind,
)
from fediverse_intranet.models.federation import Delivery, DeliveryHost, InboxItem, WorkState
from fediverse_intranet.models.groups import (
    Group,
    GroupAccess,
    GroupKind,
    MemberRole,
    Membership,
    MemberState,
)
from fediverse_intranet.models.instance import InstanceSetting
from fediverse_intranet.models.notifications import Notification, NotificationKind
from fediverse_intranet.models.posts import (
    Attachment,
    Boost,
    Like,
    Mention,
    PollOption,
    Post,
    PostKind,
    PostRevision,
    PostTag,
    PostVariant,
    Tag,
    Visibility,
)
from fediverse_intranet.models.social import (
    Announcement,
    Block,
    Follow,
    Mute,
    MuteKind,
    Report,
    TagFollow,
)

__all__ = [
    "Account",
    "Actor",
    "ActorTopic",
    "Announcement",
    "Attachment",
    "Block",
    "Boost",
    "Delivery",
    "Endorsement",
    "ExpertiseScore",
    "DeliveryHost",
    "Follow",
    "Group",
    "GroupAccess",
    "GroupKind",
    "InboxItem",
    "InstanceSetting",
    "Invitation",
    "Like",
    "MemberRole",
    "MemberState",
    "Membership",
    "LoginFailure",
    "Mention",
    "Mute",
    "MuteKind",
    "Notification",
    "NotificationKind",
    "PasswordReset",
    "PollOption",
    "Post",
    "PostKind",
    "PostRevision",
    "PostTag",
    "PostVariant",
    "Report",
    "Presence",
    "Role",
    "Tag",
    "TagFollow",
    "TopicLink",
    "TopicLinkKind",
    "Visibility",
    "WebSession",
    "WorkState",
]
