from .access import PageAccessToken
from .base import Citation, KnowledgePage, PageAttachment
from .pages import (
    HomePage,
    LessonLearnedPage,
    PolicyPage,
    ProcedurePage,
    SectionIndexPage,
    TopicIndexPage,
)
from .taxonomy import OrgUnit, Topic

__all__ = [
    "Citation",
    "HomePage",
    "KnowledgePage",
    "LessonLearnedPage",
    "OrgUnit",
    "PageAccessToken",
    "PageAttachment",
    "PolicyPage",
    "ProcedurePage",
    "SectionIndexPage",
    "Topic",
    "TopicIndexPage",
]
