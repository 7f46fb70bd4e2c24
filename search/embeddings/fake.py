"""A deterministic embedder for fast unit tests: no model, no randomness.

Each word (lower-cased, crudely stemmed) hashes to a fixed random unit
vector; a text is the normalised sum of its words' vectors. Texts sharing
words are therefore similar, which is enough to test ranking plumbing.
"""

import dataclasses
import hashlib
import re

import numpy as np

from .base import Embedder, normalise, options_dataclass

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclasses.dataclass
class HashingOptions:
    dimension: int = 64


class HashingEmbedder(Embedder):
    max_tokens = 256

    def __init__(self, options: HashingOptions):
        self.dimension = int(options.dimension)
        self.model_id = f"hashing:{self.dimension}"
        self._cache = {}

    @classmethod
    def from_options(cls, options):
        return cls(options_dataclass(HashingOptions, options, "KM_EMBEDDER OPTIONS"))

    def _word_vector(self, word):
        vec = self._cache.get(word)
        if vec is None:
            seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
            vec = np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
            self._cache[word] = vec
        return vec

    def embed_documents(self, texts):
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                out[i] += self._word_vector(word[:6])
        return normalise(out)

    def count_tokens(self, text):
        return len(_WORD.findall(text))
