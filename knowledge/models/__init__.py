from .access import PageAccessToken
from .base import Citation, KnowledgePage, PageAttachment
from .notifications import FreshnessSnapshot, Notification, Reminder, Visibility
from .pages import (
    HomePage,
    LessonLearnedPage,
    PolicyPage,
    ProcedurePage,
    SectionIndexPage,
    TopicIndexPage,
)
from .review import MaterialChange, OwnershipTransfer, ReviewTask
from .subscriptions import (
    Delivery,
    FeedToken,
    Frequency,
    GuidanceChange,
    MailSuppression,
    SentMessage,
    Subscription,
)
from .taxonomy import OrgUnit, Topic

__all__ = [
    "Citation",
    "Delivery",
    "FeedToken",
    "Frequency",
    "GuidanceChange",
    "MailSuppression",
    "SentMessage",
    "Subscription",
    "FreshnessSnapshot",
    "HomePage",
    "KnowledgePage",
    "LessonLearnedPage",
    "MaterialChange",
    "Notification",
    "OrgUnit",
    "OwnershipTransfer",
    "PageAccessToken",
    "PageAttachment",
    "PolicyPage",
    "ProcedurePage",
    "Reminder",
    "ReviewTask",
    "SectionIndexPage",
    "Topic",
    "TopicIndexPage",
    "Visibility",
]
