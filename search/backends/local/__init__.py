"""The embedded search backend (``"BACKEND": "search.backends.local"``).

Collaborators: ``lexical`` (the tantivy schema, documents and queries),
``vectors`` (memory-mapped vector segments searched through faiss under the
viewer's filter), ``store`` (one namespace's directory: writes under a lock,
snapshots for readers), ``build`` (a whole namespace at once, for
``search_reindex``) and ``backend`` (the ``SearchBackend`` contract over
them, with the ``Chunk`` table as the durable copy).
"""

from .backend import LocalSearchBackend
from .options import LocalOptions
from .store import IndexLockTimeout, NamespaceStore

SearchBackend = LocalSearchBackend

__all__ = ["IndexLockTimeout", "LocalOptions", "LocalSearchBackend", "NamespaceStore", "SearchBackend"]
