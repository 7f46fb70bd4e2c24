"""Sentences of indexed passages and their vectors, for the answer card.

A passage (a chunk's text) is split into sentences word for word; each
sentence is embedded with the site's embedding model as a document. The
vectors are kept per passage text and model (a chunk revision: an edited
passage has a new key, so an old sentence is never scored), in the
process's LRU map and in Django's cache (float16, ~0.8 KB a sentence), and
are computed when a page is indexed (``prepare``, called from
``indexing.build_chunks``) so that a search never embeds a sentence unless
the cache lost it.
"""

import hashlib
import re

import numpy as np
from django.core.cache import cache

from .lru import LRUCache

CACHE_PREFIX = "kmanswer:sent:v1:"
CACHE_SECONDS = 60 * 60 * 24 * 30
MAX_SENTENCE_CHARS = 600

# A sentence ends at . ! or ? followed by white space and a capital, digit
# or opening quote/bracket; not after common abbreviations or a lone
# initial ("s. 3", "e.g. the", "No. 5").
_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|no|nos|s|ss|art|para|cf|vs|mr|mrs|ms|dr|st|p|pp|ref)\.|\b[A-Z]\.)$",
                           re.IGNORECASE)

_memory = LRUCache(20_000)


def split_sentences(text):
    """The sentences of ``text``, each word for word (white space inside a
    sentence kept as it is). A chunk's sub-section prefix ("Heading: ...")
    stays on its first sentence."""
    text = (text or "").strip()
    if not text:
        return []
    out, start = [], 0
    for m in _BOUNDARY.finditer(text):
        candidate = text[start:m.start()]
        if _ABBREVIATION.search(candidate):
            continue
        out.append(candidate)
        start = m.end()
    out.append(text[start:])
    return [s.strip()[:MAX_SENTENCE_CHARS] for s in out if s.strip()]


def passage_key(text, model_id):
    return CACHE_PREFIX + hashlib.sha1(f"{model_id}\x1f{text}".encode()).hexdigest()


def _embed(embedder, texts):
    """{passage text: (sentences, float32 matrix)} embedding every sentence in one batch."""
    split = {t: split_sentences(t) for t in texts}
    flat = [s for t in texts for s in split[t]]
    vectors = np.asarray(embedder.embed_documents(flat), dtype=np.float32) if flat else np.zeros((0, 0), np.float32)
    out, i = {}, 0
    for t in texts:
        n = len(split[t])
        out[t] = (split[t], vectors[i:i + n])
        i += n
    return out


def sentence_vectors(texts, embedder):
    """{passage text: (sentences, vectors)} for ``texts``: from this
    process's memory, then the shared cache (one round trip), then the
    model for whatever is left (a cold cache only)."""
    model_id = embedder.model_id
    found, wanted = {}, {}
    for t in dict.fromkeys(texts):
        key = passage_key(t, model_id)
        value = _memory.get(key)
        if value is None:
            wanted[key] = t
        else:
            found[t] = value
    if wanted:
        for key, (sentences, packed) in cache.get_many(list(wanted)).items():
            value = (sentences, np.asarray(packed, dtype=np.float32))
            _memory.put(key, value)
            found[wanted.pop(key)] = value
    if wanted:
        fresh = _embed(embedder, list(wanted.values()))
        _store({k: fresh[t] for k, t in wanted.items()})
        found.update(fresh)
    return found


def _store(values):
    for key, value in values.items():
        _memory.put(key, value)
    cache.set_many({k: (s, v.astype(np.float16)) for k, (s, v) in values.items()}, CACHE_SECONDS)


def prepare(texts, embedder):
    """Embed the sentences of passages not cached yet (at indexing time)."""
    model_id = embedder.model_id
    keys = {passage_key(t, model_id): t for t in dict.fromkeys(texts)}
    present = set(cache.get_many(list(keys)))
    missing = [t for k, t in keys.items() if k not in present]
    if missing:
        fresh = _embed(embedder, missing)
        _store({passage_key(t, model_id): fresh[t] for t in missing})
    return len(missing)


def clear_memory():
    _memory.clear()
