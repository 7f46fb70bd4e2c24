from .analytics import ContentRequest, Exposure, PageFeedback, QueryLog, ResultClick
from .index import Chunk, IndexedPage, IndexOutbox, Synonym

__all__ = [
    "Chunk",
    "ContentRequest",
    "Exposure",
    "IndexOutbox",
    "IndexedPage",
    "PageFeedback",
    "QueryLog",
    "ResultClick",
    "Synonym",
]
