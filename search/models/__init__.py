from .analytics import ContentRequest, Exposure, PageFeedback, QueryLog, ResultClick
from .index import Chunk, IndexedPage, IndexOutbox, NamespaceState, Synonym, Tombstone

__all__ = [
    "Chunk",
    "ContentRequest",
    "Exposure",
    "IndexOutbox",
    "IndexedPage",
    "NamespaceState",
    "PageFeedback",
    "QueryLog",
    "ResultClick",
    "Synonym",
    "Tombstone",
]
