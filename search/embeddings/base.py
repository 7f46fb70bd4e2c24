"""The embedding provider interface."""

import dataclasses

import numpy as np
from django.core.exceptions import ImproperlyConfigured


def options_dataclass(cls, options, where):
    """Build ``cls`` from a settings dict; unknown keys are an error."""
    known = {f.name.upper(): f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ImproperlyConfigured(
            f"Unknown option(s) {', '.join(unknown)} in {where}; known: {', '.join(sorted(known))}"
        )
    return cls(**{known[k]: v for k, v in options.items()})


class QueryCache:
    """A small LRU of query vectors: people repeat the same questions, and
    embedding a query is the largest share of a search's CPU time."""

    def __init__(self, size=4096):
        import collections
        import threading

        self.size, self.items, self.lock = size, collections.OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key, value):
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


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
