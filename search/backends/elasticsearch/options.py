"""The Elasticsearch backend's options, and the client built from them."""

import dataclasses
import re
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from elasticsearch import Elasticsearch

VECTOR_INDEX_TYPES = ("hnsw", "int8_hnsw", "int4_hnsw")
PREFIX = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")


@dataclasses.dataclass
class ElasticsearchOptions:
    #: one or more nodes, comma-separated; basic auth may sit in the URL
    url: str = "http://localhost:9200"
    #: base64 "id:key" API key (preferred to basic auth)
    api_key: str = ""
    ca_certs: str = ""
    verify_certs: bool = True
    #: seconds a search may take before the fallback answers instead
    request_timeout: float = 2.0
    #: seconds for bulk writes, delete-by-query and index administration
    write_timeout: float = 30.0
    max_retries: int = 1
    retry_on_timeout: bool = False
    index_prefix: str = "govkm"
    number_of_shards: int = 1
    number_of_replicas: int = 1
    #: HNSW candidates examined per shard (at least the number of hits asked for)
    num_candidates: int = 500
    hnsw_m: int = 16
    hnsw_ef_construction: int = 100
    #: "hnsw" (float32), or "int8_hnsw"/"int4_hnsw" (quantised, 4x/8x less memory)
    vector_index_type: str = "hnsw"
    #: a vector hit below this cosine similarity does not count towards facets and totals
    min_similarity: float = 0.25
    #: most values returned per facet
    facet_size: int = 100
    #: alias of the backend that answers when Elasticsearch cannot, and receives every write
    fallback: str = "default"
    bulk_chunk_size: int = 500
    #: seconds searches skip Elasticsearch after it failed to answer
    cool_off: float = 5.0

    def __post_init__(self):
        problems = []
        if not self.hosts():
            problems.append("URL names no host")
        for host in self.hosts():
            parts = urlsplit(host)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problems.append(f"URL entry {host!r} is not an http(s) URL")
            elif parts.username and self.api_key:
                problems.append("give either API_KEY or credentials in URL, not both")
        if not PREFIX.match(self.index_prefix or ""):
            problems.append("INDEX_PREFIX must be lower-case letters, digits, '-' or '_'")
        if self.vector_index_type not in VECTOR_INDEX_TYPES:
            problems.append(f"VECTOR_INDEX_TYPE must be one of {', '.join(VECTOR_INDEX_TYPES)}")
        if not 1 <= int(self.num_candidates) <= 10_000:
            problems.append("NUM_CANDIDATES must be between 1 and 10000")
        if float(self.request_timeout) <= 0 or float(self.write_timeout) <= 0:
            problems.append("REQUEST_TIMEOUT and WRITE_TIMEOUT must be positive")
        if not self.fallback:
            problems.append("FALLBACK must name another search backend")
        if problems:
            raise ImproperlyConfigured("Elasticsearch search backend: " + "; ".join(dict.fromkeys(problems)))

    def hosts(self):
        return [h.strip() for h in (self.url or "").split(",") if h.strip()]


def build_client(options):
    """An ``Elasticsearch`` client; it does not connect until first used."""
    kwargs = {
        "request_timeout": float(options.request_timeout),
        "max_retries": int(options.max_retries),
        "retry_on_timeout": bool(options.retry_on_timeout),
        "verify_certs": bool(options.verify_certs),
    }
    if options.api_key:
        kwargs["api_key"] = options.api_key
    if options.ca_certs:
        kwargs["ca_certs"] = options.ca_certs
    try:
        return Elasticsearch(options.hosts(), **kwargs)
    except ValueError as exc:
        raise ImproperlyConfigured(f"Elasticsearch search backend: {exc}") from exc
