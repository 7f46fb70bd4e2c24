from .analytics import ContentRequest, Exposure, HiddenSearchTerm, PageFeedback, QueryLog, ResultClick
from .index import Chunk, IndexedPage, IndexOutbox, Synonym

__all__ = [
    "Chunk",
    "ContentRequest",
    "Exposure",
    "HiddenSearchTerm",
    "IndexOutbox",
    "IndexedPage",
    "PageFeedback",
    "QueryLog",
    "ResultClick",
    "Synonym",
]
