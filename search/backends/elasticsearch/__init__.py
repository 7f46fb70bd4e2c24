"""The Elasticsearch 8 search backend (see docs/elasticsearch.md).

``KM_SEARCH_BACKENDS["elasticsearch"] = {"BACKEND": "search.backends.elasticsearch",
"OPTIONS": {"URL": "https://es1:9200,https://es2:9200", "API_KEY": "..."}}``

Collaborators, each replaceable through a ``*_class`` attribute:
``ElasticsearchMapping`` (analysis, mapping, documents),
``ElasticsearchIndexManager`` (versioned indices and aliases),
``ElasticsearchQueryCompiler`` (request bodies) and
``ElasticsearchResultParser`` (responses into hits and facets).
"""

from .backend import NOTICE, ElasticsearchSearchBackend, ElasticsearchUnavailable
from .indices import ElasticsearchIndexManager, ElasticsearchTarget
from .mapping import ElasticsearchMapping
from .options import ElasticsearchOptions
from .queries import ElasticsearchQueryCompiler
from .results import ElasticsearchIndexingError, ElasticsearchResultParser, ElasticsearchSearchFailed

SearchBackend = ElasticsearchSearchBackend

__all__ = [
    "NOTICE",
    "ElasticsearchIndexManager",
    "ElasticsearchIndexingError",
    "ElasticsearchMapping",
    "ElasticsearchOptions",
    "ElasticsearchQueryCompiler",
    "ElasticsearchResultParser",
    "ElasticsearchSearchBackend",
    "ElasticsearchSearchFailed",
    "ElasticsearchTarget",
    "ElasticsearchUnavailable",
    "SearchBackend",
]
