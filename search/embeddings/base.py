"""The embedding provider interface."""

import dataclasses

import numpy as np
from django.core.exceptions import ImproperlyConfigured

from ..lru import LRUCache


def options_dataclass(cls, options, where):
    """Build ``cls`` from a settings dict; unknown keys are an error."""
    known = {f.name.upper(): f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ImproperlyConfigured(
            f"Unknown option(s) {', '.join(unknown)} in {where}; known: {', '.join(sorted(known))}"
        )
    return cls(**{known[k]: v for k, v in options.items()})


class QueryCache(LRUCache):
    """Query vectors by query text: people repeat the same questions, and
    embedding a query is the largest share of a search's CPU time."""

    def __init__(self, size=4096):
        super().__init__(size)


class Embedder:
    """Turns texts into L2-normalised float32 vectors of ``dimension``."""

    #: identifies the model; stored with each vector so a model change
    #: re-embeds instead of mixing incompatible vectors
    model_id: str = ""
    dimension: int = 0

    @classmethod
    def from_options(cls, options):
        raise NotImplementedError

    def embed_documents(self, texts):
        raise NotImplementedError

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def normalise(matrix):
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms
