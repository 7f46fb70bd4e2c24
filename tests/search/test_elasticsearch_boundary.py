"""The Elasticsearch backend checked at the HTTP boundary, with no cluster.

``FakeElasticsearch`` is an HTTP server on 127.0.0.1 that the real client
talks to: it records every request and answers with Elasticsearch 8
response shapes kept under ``tests/data/elasticsearch/``. The failure tests
use real sockets: a closed port, and a server that accepts and never answers.
What this does not prove (that a real cluster accepts these bodies and ranks
as expected) is the job of ``test_backend_elasticsearch_live.py``.
"""

import datetime
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured
from elasticsearch import ApiError, ConnectionError, ConnectionTimeout

from search.analysis import MARK_END, MARK_START, STOP_WORDS, stem
from search.backends import load_backend
from search.backends.base import FACET_FIELDS, Filters, PrimaryWriteFailed
from search.backends.elasticsearch import NOTICE, ElasticsearchIndexingError, SearchBackend
from search.backends.local import LocalSearchBackend
from search.models import Synonym

from .contract import EMBEDDER, record

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parent.parent / "data" / "elasticsearch"
STAMP = datetime.datetime(2025, 3, 1, 9, 45, 12, tzinfo=datetime.UTC)
NEW = "govkm-site-20250301094512"
OLD = "govkm-site-20240101000000"
ACK = {"acknowledged": True}


def load(name):
    return json.loads((DATA / name).read_text())


class Request:
    def __init__(self, method, path, params, body, headers):
        self.method, self.path, self.params, self.body = method, path, params, body
        self.headers = {k.lower(): v for k, v in headers.items()}

    def __repr__(self):
        return f"<{self.method} {self.path} {self.params}>"


class FakeElasticsearch:
    """Records requests; answers from routes added with ``on()`` (latest first)."""

    def __init__(self):
        self.requests, self.routes = [], []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body = fake.answer(self.command, self.path, raw, dict(self.headers))
                payload = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Type", "application/vnd.elasticsearch+json;compatible-with=8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def on(self, method, path, body=None, status=200):
        """Answer ``method`` (regex) on ``path`` (regex) with ``body`` - a
        dict, a fixture file name, or a callable taking the Request."""
        if callable(body):
            responder = body
        else:
            payload = load(body) if isinstance(body, str) else body
            responder = lambda request: (status, payload)  # noqa: E731
        self.routes.insert(0, (method, path, responder))

    def answer(self, method, raw_path, raw_body, headers):
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        body = None
        if raw_body:
            text = raw_body.decode()
            try:
                body = json.loads(text)
            except json.JSONDecodeError:
                body = [json.loads(line) for line in text.splitlines() if line.strip()]
        request = Request(method, path, params, body, headers)
        self.requests.append(request)
        for route_method, pattern, responder in self.routes:
            if re.fullmatch(route_method, method) and re.fullmatch(pattern, path):
                return responder(request)
        return 404, {"error": {"type": "unrouted_in_test", "reason": f"{method} {path}"}, "status": 404}

    def sent(self, method, path):
        return [r for r in self.requests if re.fullmatch(method, r.method) and re.fullmatch(path, r.path)]

    def order(self, *pairs):
        """Positions of the first request matching each (method, path)."""
        return [
            next(i for i, r in enumerate(self.requests) if re.fullmatch(m, r.method) and re.fullmatch(p, r.path))
            for m, p in pairs
        ]


def bulk_ok(request):
    """A successful ``_bulk`` answer for whatever was sent."""
    actions = request.body[0::2]
    items = []
    for seq, action in enumerate(actions):
        op, meta = next(iter(action.items()))
        items.append({op: {
            "_index": NEW, "_id": meta["_id"], "_version": 1, "result": "created",
            "_shards": {"total": 2, "successful": 2, "failed": 0}, "_seq_no": seq, "_primary_term": 1, "status": 201,
        }})
    return 200, {"errors": False, "took": 5, "items": items}


@pytest.fixture
def fake():
    server = FakeElasticsearch()
    yield server
    server.close()


@pytest.fixture
def fallback():
    return LocalSearchBackend("local-fallback", {})


def make(url, fallback, **options):
    backend = SearchBackend("es-test", {"URL": url, "MAX_RETRIES": 0, **options}, fallback=fallback)
    backend.indices.clock = lambda: STAMP
    return backend


def search(backend, text, mode="hybrid", access=("public",), **filters):
    return backend.search(
        "site", text=text, terms=text.split(), vector=EMBEDDER.embed_query(text) if text else None,
        filters=Filters(access=list(access), **filters), mode=mode, limit=50,
    )


def live_namespace(fake):
    fake.on("HEAD", "/_alias/govkm-site-write", {})
    fake.on("PUT|POST", "/_bulk", bulk_ok)
    fake.on("POST", r"/govkm-site(-write)?/_delete_by_query", "delete_by_query.json")


# --- options ------------------------------------------------------------------
def test_unknown_option_is_refused_by_name():
    with pytest.raises(ImproperlyConfigured, match="NUM_CANDIDATE"):
        load_backend("es", {"BACKEND": "search.backends.elasticsearch", "OPTIONS": {"NUM_CANDIDATE": 50}})


def test_options_are_typed_and_checked(fake, fallback):
    backend = SearchBackend(
        "es", {"URL": "https://es1:9200, https://es2:9200", "API_KEY": "aWQ6a2V5", "NUM_CANDIDATES": 500},
        fallback=fallback,
    )
    assert sorted(n.config.host for n in backend.client.transport.node_pool.all()) == ["es1", "es2"]
    assert backend.options.num_candidates == 500 and backend.options.request_timeout == 2.0
    fake.on("GET", "/_cluster/health", "cluster_health.json")
    host = fake.url.removeprefix("http://")
    make(fake.url, fallback, API_KEY="aWQ6a2V5").health()
    make(f"http://reader:s3cret@{host}", fallback).health()
    assert [r.headers["authorization"] for r in fake.requests] == ["ApiKey aWQ6a2V5", "Basic cmVhZGVyOnMzY3JldA=="]
    for bad, message in [
        ({"URL": "https://u:p@es1:9200", "API_KEY": "x"}, "either API_KEY or credentials"),
        ({"URL": "es1:9200"}, "not an http"),
        ({"INDEX_PREFIX": "GovKM"}, "INDEX_PREFIX"),
        ({"VECTOR_INDEX_TYPE": "flat"}, "VECTOR_INDEX_TYPE"),
        ({"NUM_CANDIDATES": 20_000}, "NUM_CANDIDATES"),
        ({"FALLBACK": "es"}, "its own FALLBACK"),
    ]:
        with pytest.raises(ImproperlyConfigured, match=message):
            SearchBackend("es", bad, fallback=fallback)


# --- mapping and writes ---------------------------------------------------------
def expected_index(synonyms, *, building=False):
    word_parts = {"type": "word_delimiter_graph", "split_on_case_change": False, "split_on_numerics": False,
                  "preserve_original": False, "stem_english_possessive": True}
    text = {"type": "text", "analyzer": "govkm_english", "search_analyzer": "govkm_english_search"}
    stored = {"type": "keyword", "index": False, "doc_values": False}
    body = {
        "settings": {
            "number_of_shards": 1,
            "number_of_replicas": 0 if building else 1,
            "refresh_interval": "-1" if building else "1s",
            "analysis": {
                "analyzer": {
                    "govkm_english": {
                        "type": "custom", "tokenizer": "whitespace",
                        "filter": ["govkm_word_parts", "flatten_graph", "lowercase", "govkm_stemmer", "govkm_stop"],
                    },
                    "govkm_english_search": {
                        "type": "custom", "tokenizer": "whitespace",
                        "filter": ["govkm_query_parts", "lowercase", "govkm_stemmer", "govkm_synonyms", "govkm_stop"],
                    },
                },
                "filter": {
                    # "GH-1" indexed as gh, 1 and gh1, like search.analysis (a question's
                    # "GH1" finds it); questions split into parts only
                    "govkm_word_parts": {**word_parts, "catenate_all": True},
                    "govkm_query_parts": word_parts,
                    "govkm_stemmer": {"type": "stemmer", "language": "porter2"},
                    "govkm_stop": {"type": "stop", "stopwords": sorted(STOP_WORDS | {stem(w) for w in STOP_WORDS})},
                    "govkm_synonyms": {"type": "synonym_graph", "synonyms": synonyms, "updateable": True, "lenient": True},
                },
            },
        },
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "title": text, "heading": text, "text": text, "summary": text,
                **{f: {"type": "keyword"} for f in (
                    "page_id", "position", "revision_id", "content_type", "topics", "units", "status", "audience",
                    "freshness", "access", "content_hash", "model_id",
                )},
                **{f: stored for f in ("url", "unit_name", "successor_id", "last_reviewed", "source")},
                "extra": {"type": "object", "enabled": False},
                "vector": {
                    "type": "dense_vector", "dims": 64, "index": True, "similarity": "cosine",
                    "index_options": {"type": "hnsw", "m": 16, "ef_construction": 100},
                },
            },
        },
    }
    if not building:
        body["aliases"] = {"govkm-site": {}, "govkm-site-write": {"is_write_index": True}}
    return body


def test_first_write_creates_a_versioned_index_behind_both_aliases(fake, fallback):
    Synonym.objects.all().delete()
    Synonym.objects.create(terms="leave, holiday, annual leave")
    Synonym.objects.create(terms="FOI, freedom of information")
    Synonym.objects.create(terms="lonely")  # a group of one is no rule
    fake.on("HEAD", "/_alias/govkm-site-write", None, status=404)
    fake.on("HEAD", f"/{NEW}", None, status=404)
    fake.on("PUT", f"/{NEW}", "create_index.json")
    fake.on("PUT|POST", "/_bulk", bulk_ok)
    fake.on("POST", "/govkm-site-write/_delete_by_query", "delete_by_query.json")
    backend = make(fake.url, fallback)
    chunks = [record(7, 0, "Report a lost laptop"), record(7, 1, "to the service desk", topics=["it"])]
    backend.index_page("site", 7, chunks)

    (create,) = fake.sent("PUT", f"/{NEW}")
    assert create.body == expected_index(["FOI, freedom of information", "leave, holiday, annual leave"])
    (bulk,) = fake.sent("PUT|POST", "/_bulk")
    assert bulk.params == {"require_alias": "true"}
    assert bulk.body[0::2] == [{"index": {"_index": "govkm-site-write", "_id": "7:0"}},
                               {"index": {"_index": "govkm-site-write", "_id": "7:1"}}]
    doc = dict(bulk.body[1])
    vector = doc.pop("vector")
    assert doc == {
        "page_id": 7, "position": 0, "title": "Page 7", "heading": "", "text": "Report a lost laptop", "summary": "",
        "content_hash": chunks[0].content_hash, "model_id": "hashing:64", "content_type": "policy", "topics": [],
        "units": [], "status": "in_force", "audience": "public", "freshness": "fresh", "access": ["public", "superuser"],
        "url": "/p/7/",
    }
    assert np.allclose(vector, chunks[0].vector) and len(vector) == 64
    assert bulk.body[3]["topics"] == ["it"]
    # The new chunks are written before the page's other chunks are removed.
    (stale,) = fake.sent("POST", "/govkm-site-write/_delete_by_query")
    assert stale.params == {"conflicts": "proceed", "refresh": "true"}
    assert stale.body == {"query": {"bool": {
        "filter": [{"terms": {"page_id": ["7"]}}], "must_not": [{"ids": {"values": ["7:0", "7:1"]}}],
    }}}
    created, written = fake.order(("PUT", f"/{NEW}"), ("PUT|POST", "/_bulk"))
    assert created < written < fake.requests.index(stale)
    assert fallback.count("site") == (1, 2)


def test_metadata_round_trips_through_a_document(fallback):
    backend = SearchBackend("es", {}, fallback=fallback)
    chunk = record(3, 2, "text", successor_id=9, last_reviewed="2024-02-01", source="attachment:a.pdf", custom="kept")
    meta = backend.mapping.metadata(backend.mapping.document(chunk))
    assert meta == {**chunk.metadata, "summary": ""}


def test_partial_bulk_failure_raises_naming_each_refused_chunk(fake, fallback):
    live_namespace(fake)
    fake.on("PUT|POST", "/_bulk", "bulk_partial_failure.json")
    backend = make(fake.url, fallback)
    with pytest.raises(PrimaryWriteFailed) as failure:
        backend.index_page("site", 7, [record(7, i, f"chunk {i}") for i in range(3)])
    assert isinstance(failure.value.__cause__, ElasticsearchIndexingError)
    message = str(failure.value)
    assert "refused 2 of 3 chunks" in message
    assert "7:1 (index): 400 document_parsing_exception" in message and "different number of dimensions" in message
    assert "7:2 (index): 429 es_rejected_execution_exception" in message
    assert not fake.sent("POST", ".*_delete_by_query")  # the old chunks stay until a write succeeds
    assert fallback.count("site") == (1, 3)
    # the failure makes the next attempt check the aliases again (another
    # process may have dropped and recreated the namespace)
    fake.on("PUT|POST", "/_bulk", bulk_ok)
    backend.index_page("site", 7, [record(7, 0, "chunk 0")])
    assert len(fake.sent("HEAD", "/_alias/govkm-site-write")) == 2


def test_delete_by_query_failures_raise(fake, fallback):
    live_namespace(fake)
    fake.on("POST", "/govkm-site-write/_delete_by_query", "delete_by_query_failure.json")
    backend = make(fake.url, fallback)
    fallback.index_page("site", 7, [record(7, 0, "gone soon")])
    with pytest.raises(PrimaryWriteFailed, match="es_rejected_execution_exception"):
        backend.delete_page("site", 7)
    (request,) = fake.sent("POST", "/govkm-site-write/_delete_by_query")
    assert request.body == {"query": {"bool": {"filter": [{"terms": {"page_id": ["7"]}}]}}}
    assert fallback.count("site") == (0, 0)  # the fallback was written first


def test_index_many_sends_one_bulk_stream_and_one_stale_chunk_delete(fake, fallback):
    live_namespace(fake)
    backend = make(fake.url, fallback, BULK_CHUNK_SIZE=2)
    backend.index_many("site", {1: [record(1, 0, "a"), record(1, 1, "b")], 2: [record(2, 0, "c")]})
    assert [len(r.body) // 2 for r in fake.sent("PUT|POST", "/_bulk")] == [2, 1]
    (stale,) = fake.sent("POST", ".*_delete_by_query")
    assert stale.body["query"]["bool"]["filter"] == [{"terms": {"page_id": ["1", "2"]}}]
    assert stale.body["query"]["bool"]["must_not"] == [{"ids": {"values": ["1:0", "1:1", "2:0"]}}]
    assert fallback.count("site") == (2, 3)


# --- rebuild: one atomic alias swap, then the old index goes --------------------
def rebuild_routes(fake):
    fake.on("HEAD", r"/govkm-site-\d{14}", None, status=404)
    fake.on("PUT", f"/{NEW}", "create_index.json")
    fake.on("PUT|POST", "/_bulk", bulk_ok)
    fake.on("POST", f"/{NEW}/_delete_by_query", "delete_by_query.json")
    fake.on("PUT", f"/{NEW}/_settings", ACK)
    fake.on("POST", f"/{NEW}/_refresh", {"_shards": {"total": 1, "successful": 1, "failed": 0}})
    fake.on("GET", "/_alias/govkm-site,govkm-site-write", "get_alias_live.json")
    fake.on("POST", "/_aliases", {"acknowledged": True, "errors": False})
    fake.on("DELETE", f"/{OLD}", ACK)


def test_rebuild_fills_a_new_index_then_swaps_both_aliases_in_one_call(fake, fallback):
    Synonym.objects.all().delete()
    rebuild_routes(fake)
    backend = make(fake.url, fallback)
    handle = backend.start_rebuild("site")
    assert handle == f"{NEW}|site~rebuild"
    (create,) = fake.sent("PUT", f"/{NEW}")
    assert create.body == expected_index([], building=True)

    backend.index_page(handle, 3, [record(3, 0, "new policy on smartphones")])
    (bulk,) = fake.sent("PUT|POST", "/_bulk")
    assert bulk.body[0] == {"index": {"_index": NEW, "_id": "3:0"}} and bulk.params == {"require_alias": "false"}
    (stale,) = fake.sent("POST", f"/{NEW}/_delete_by_query")
    assert stale.params["refresh"] == "false"

    backend.finish_rebuild("site", handle)
    (settings,) = fake.sent("PUT", f"/{NEW}/_settings")
    assert settings.body == {"index": {"number_of_replicas": 1, "refresh_interval": None}}
    (swap,) = fake.sent("POST", "/_aliases")
    assert swap.body == {"actions": [
        {"remove": {"index": OLD, "alias": "govkm-site"}},
        {"remove": {"index": OLD, "alias": "govkm-site-write"}},
        {"add": {"index": NEW, "alias": "govkm-site"}},
        {"add": {"index": NEW, "alias": "govkm-site-write", "is_write_index": True}},
    ]}
    settle, refresh, aliases, delete = fake.order(
        ("PUT", f"/{NEW}/_settings"), ("POST", f"/{NEW}/_refresh"), ("POST", "/_aliases"), ("DELETE", f"/{OLD}")
    )
    assert settle < refresh < aliases < delete
    assert fallback.count("site") == (1, 1)


def test_a_failed_swap_deletes_nothing(fake, fallback):
    rebuild_routes(fake)
    fake.on("POST", "/_aliases", "error_503.json", status=503)
    backend = make(fake.url, fallback)
    handle = backend.start_rebuild("site")
    with pytest.raises(ApiError):
        backend.finish_rebuild("site", handle)
    assert not fake.sent("DELETE", ".*")


def test_drop_namespace_deletes_its_versioned_indices_by_name(fake, fallback):
    fake.on("GET", r"/govkm-site-\*/_alias", "get_alias_namespace.json")
    fake.on("DELETE", ".*", ACK)
    make(fake.url, fallback).drop_namespace("site")
    (delete,) = fake.sent("DELETE", ".*")
    assert delete.path == f"/{OLD},{NEW}"  # not govkm-site-archive-..., another namespace


# --- searches ------------------------------------------------------------------
def test_every_retrieval_carries_the_same_filter_clauses(fake, fallback):
    fake.on("POST", "/govkm-site/_msearch", "msearch_hybrid.json")
    backend = make(fake.url, fallback)
    search(backend, "lost laptop", access=["public", "group:7"], topics=["records"], units=["finance"],
           exclude_pages=[99])
    (request,) = fake.sent("POST", "/govkm-site/_msearch")
    assert request.body[0::2] == [{}, {}, {}]
    lexical, vector, facets = request.body[1::2]
    clauses = [
        {"terms": {"access": ["public", "group:7"]}},
        {"terms": {"topics": ["records"]}},
        {"terms": {"units": ["finance"]}},
        {"bool": {"must_not": [{"terms": {"page_id": ["99"]}}]}},
    ]
    query = {"bool": {
        "must": [{"multi_match": {"query": "lost laptop", "fields": ["title^2", "heading^1.5", "text", "summary^0.5"]}}],
        "filter": clauses,
    }}
    assert lexical["query"] == query
    assert lexical["highlight"] == {
        "pre_tags": [MARK_START], "post_tags": [MARK_END], "number_of_fragments": 1, "fragment_size": 300,
        "fields": {"text": {}},
    }
    assert lexical["size"] == 50 and lexical["_source"] == {"excludes": ["vector"]} and "knn" not in lexical
    knn = vector["knn"]
    assert {k: v for k, v in knn.items() if k != "query_vector"} == {
        "field": "vector", "k": 50, "num_candidates": 500, "filter": clauses,
    }
    assert np.allclose(knn["query_vector"], EMBEDDER.embed_query("lost laptop"))
    assert "query" not in vector and vector["size"] == 50
    # pre-filtering: every clause of the lexical filter, access included, is inside each knn.filter
    for body in (vector, facets):
        for clause in lexical["query"]["bool"]["filter"]:
            assert clause in body["knn"]["filter"]
    assert facets["query"] == query and facets["size"] == 0
    assert facets["knn"]["similarity"] == 0.25 and facets["knn"]["filter"] == clauses
    pages = {"cardinality": {"field": "page_id", "precision_threshold": 3000}}
    assert facets["aggs"] == {
        **{f: {"terms": {"field": f, "size": 100}, "aggs": {"pages": pages}} for f in FACET_FIELDS},
        "pages": pages,
    }
    for body in (lexical, vector, facets):
        assert "rank" not in body and "retriever" not in body  # GovKM fuses with RRF itself


def test_modes_send_only_the_sides_they_need(fake, fallback):
    fake.on("POST", "/govkm-site/_msearch", lambda r: (200, {"responses": [load("msearch_hybrid.json")["responses"][2]]}))
    backend = make(fake.url, fallback)
    backend.search("site", text="", terms=[], vector=None, filters=Filters(access=["public"]), mode="hybrid", limit=5)
    assert not fake.requests  # nothing to ask
    lexical_and_facets = load("msearch_hybrid.json")["responses"][0::2]
    fake.on("POST", "/govkm-site/_msearch", {"took": 3, "responses": lexical_and_facets})
    result = search(backend, "laptop", mode="lexical")
    bodies = fake.requests[-1].body[1::2]
    assert len(bodies) == 2 and "knn" not in bodies[1] and "query" in bodies[1]
    assert result.facets["content_type"] == {"procedure": 2, "policy": 1}


def test_recorded_msearch_response_is_parsed(fake, fallback):
    fake.on("POST", "/govkm-site/_msearch", "msearch_hybrid.json")
    result = search(make(fake.url, fallback), "lost laptop")
    assert result.notice == ""
    assert [(h.page_id, h.position) for h in result.lexical] == [(12, 0), (31, 2)]
    first, second = result.lexical
    assert first.score == pytest.approx(4.2178125)
    assert first.highlight == f"Report a lost {MARK_START}laptop{MARK_END} to the service desk straight away."
    assert second.highlight == (
        f"… A {MARK_START}laptop{MARK_END} left in a vehicle overnight counts as {MARK_START}lost{MARK_END} "
        "equipment and must be reported. …"
    )
    assert first.metadata["url"] == "/procedures/lost-equipment/" and first.metadata["unit_name"] == "Service Desk"
    assert first.metadata["summary"] == "How to report lost IT equipment"
    assert second.metadata["successor_id"] == 58 and second.metadata["source"] == "attachment:Acceptable use.pdf"
    # kNN scores are (1 + cosine) / 2; GovKM gets the cosine back.
    assert [h.page_id for h in result.vector] == [12, 40]
    assert [h.score for h in result.vector] == pytest.approx([0.8624, 0.0])
    assert result.vector[0].highlight is None
    assert result.facets["topics"] == {"it-security": 2, "assets": 1, "travel": 1}
    assert result.facets["audience"] == {"internal": 1, "public": 2}
    assert set(result.facets) == set(FACET_FIELDS)
    assert result.total_pages == 3


# --- failures answered by the fallback ---------------------------------------------
@pytest.mark.parametrize("status,fixture", [(429, "error_429.json"), (503, "error_503.json")])
def test_overload_and_outage_answer_from_the_fallback(fake, fallback, status, fixture):
    fallback.index_page("site", 5, [record(5, 0, "lost laptop procedure")])
    fake.on("POST", "/govkm-site/_msearch", fixture, status=status)
    result = search(make(fake.url, fallback), "laptop", mode="lexical")
    assert [h.page_id for h in result.lexical] == [5]
    assert result.notice == NOTICE
    assert len(fake.sent("POST", "/govkm-site/_msearch")) == 1


def test_an_error_inside_msearch_answers_from_the_fallback(fake, fallback):
    fallback.index_page("site", 5, [record(5, 0, "lost laptop procedure")])
    fake.on("POST", "/govkm-site/_msearch", lambda r: (200, {
        "took": 1, "responses": load("msearch_index_missing.json")["responses"] * (len(r.body) // 2),
    }))
    result = search(make(fake.url, fallback), "laptop")
    assert {h.page_id for h in result.lexical + result.vector} == {5}
    assert result.notice == NOTICE


def test_after_an_outage_searches_skip_elasticsearch_for_the_cool_off(fake, fallback):
    fake.on("POST", "/govkm-site/_msearch", "error_503.json", status=503)
    backend = make(fake.url, fallback, COOL_OFF=30)
    assert search(backend, "laptop").notice == NOTICE
    assert search(backend, "laptop").notice == NOTICE
    assert len(fake.sent("POST", "/govkm-site/_msearch")) == 1
    backend._skip_until = 0
    fake.on("POST", "/govkm-site/_msearch", "msearch_hybrid.json")
    assert search(backend, "laptop").notice == ""


# --- bookkeeping reads ---------------------------------------------------------------
def test_page_vector_is_the_normalised_mean_of_stored_chunks(fake, fallback):
    fake.on("POST", "/govkm-site/_search", "search_page_chunks.json")
    vector = make(fake.url, fallback).page_vector("site", 12)
    expected = np.array([0.6, 1.8, 0.0, 1.0]) / np.linalg.norm([0.6, 1.8, 0.0, 1.0])
    assert np.allclose(vector, expected) and np.isclose(np.linalg.norm(vector), 1.0)
    (request,) = fake.sent("POST", "/govkm-site/_search")
    assert request.body == {
        "query": {"bool": {"filter": [{"term": {"page_id": "12"}}]}}, "_source": ["vector"], "size": 2000,
        "track_total_hits": False,
    }
    fake.on("POST", "/govkm-site/_search", {"hits": {"hits": []}})
    assert make(fake.url, fallback).page_vector("site", 99) is None


def test_existing_vectors_by_content_hash(fake, fallback):
    fake.on("POST", r"/govkm-site(,govkm-site-\d{14})?/_search", "search_by_hashes.json")
    backend = make(fake.url, fallback)
    found = backend.existing_vectors("site", {"3f1c9a", "0c9e11", "unknown"})
    assert set(found) == {"3f1c9a", "0c9e11"} and np.allclose(found["0c9e11"], [0, 0, 1, 0])
    (request,) = fake.sent("POST", ".*_search")
    assert request.body == {
        "query": {"bool": {"filter": [{"terms": {"content_hash": ["0c9e11", "3f1c9a", "unknown"]}}]}},
        "_source": ["content_hash", "vector"], "size": 3, "track_total_hits": False,
        "collapse": {"field": "content_hash"},
    }
    # while rebuilding, the live index (which has the vectors) is read too
    backend.existing_vectors(f"{NEW}|site~rebuild", {"3f1c9a"})
    assert fake.requests[-1].path == f"/govkm-site,{NEW}/_search"


def test_count_is_distinct_pages_and_chunks(fake, fallback):
    fake.on("POST", "/govkm-site/_search", "count.json")
    backend = make(fake.url, fallback)
    assert backend.count("site") == (2, 5)
    assert fake.requests[-1].body == {
        "aggs": {"pages": {"cardinality": {"field": "page_id", "precision_threshold": 40000}}},
        "size": 0, "track_total_hits": True,
    }
    fake.on("POST", "/govkm-site/_search", load("msearch_index_missing.json")["responses"][0], status=404)
    assert backend.count("site") == (0, 0)


def test_update_synonyms_puts_new_rules_and_reloads_search_analyzers(fake, fallback):
    Synonym.objects.all().delete()
    Synonym.objects.create(terms="FOI, freedom of information")
    fake.on("GET", r"/govkm-\*/_alias", {NEW: {"aliases": {"govkm-site": {}}}, "govkm-site": {"aliases": {}}})
    fake.on("GET", f"/{NEW}/_settings/.*", "get_settings_synonyms.json")
    backend = make(fake.url, fallback)
    assert backend.update_synonyms() == []  # unchanged: the index is not touched
    Synonym.objects.create(terms="P-card, purchasing card")
    for method, path, body in [
        ("POST", f"/{NEW}/_close", {"acknowledged": True, "shards_acknowledged": True, "indices": {NEW: {"closed": True}}}),
        ("PUT", f"/{NEW}/_settings", ACK),
        ("POST", f"/{NEW}/_open", {"acknowledged": True, "shards_acknowledged": True}),
        ("POST", f"/{NEW}/_reload_search_analyzers", "reload_search_analyzers.json"),
        ("POST", f"/{NEW}/_cache/clear", {"_shards": {"total": 2, "successful": 2, "failed": 0}}),
    ]:
        fake.on(method, path, body)
    assert backend.update_synonyms() == [NEW]
    (put,) = fake.sent("PUT", f"/{NEW}/_settings")
    assert put.body == {"analysis": {"filter": {"govkm_synonyms": {
        "type": "synonym_graph", "synonyms": ["FOI, freedom of information", "P-card, purchasing card"],
        "updateable": True, "lenient": True,
    }}}}
    steps = fake.order(
        ("POST", f"/{NEW}/_close"), ("PUT", f"/{NEW}/_settings"), ("POST", f"/{NEW}/_open"),
        ("POST", f"/{NEW}/_reload_search_analyzers"), ("POST", f"/{NEW}/_cache/clear"),
    )
    assert steps == sorted(steps)
    assert fake.sent("POST", f"/{NEW}/_cache/clear")[0].params == {"request": "true"}


def test_health_reports_the_cluster_and_never_raises(fake, fallback):
    fake.on("GET", "/_cluster/health", "cluster_health.json")
    health = make(fake.url, fallback).health()
    assert health["status"] == "yellow" and health["nodes"] == 3 and health["error"] == ""
    assert "2 unassigned" in health["detail"]
    down = make(f"http://127.0.0.1:{closed_port()}", fallback).health()
    assert down["status"] == "unreachable" and down["nodes"] == 0 and "ConnectionError" in down["error"]


# --- real failures: nothing listening, and a server that never answers ------------
def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class SilentServer:
    """Accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    @property
    def url(self):
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def silent():
    server = SilentServer()
    yield server
    server.close()


def check_fallback_answers(backend, fallback, error, budget):
    page = [record(21, 0, "expenses claim for overnight travel")]
    with pytest.raises(PrimaryWriteFailed) as failure:
        backend.index_page("site", 21, page)
    assert isinstance(failure.value.__cause__, error)
    assert fallback.count("site") == (1, 1)  # written before Elasticsearch was tried
    started = time.monotonic()
    result = search(backend, "overnight travel expenses")
    assert time.monotonic() - started < budget
    assert result.notice == NOTICE
    assert {h.page_id for h in result.lexical} == {21} and {h.page_id for h in result.vector} == {21}
    assert result.facets["content_type"] == {"policy": 1}


def test_unreachable_cluster_answers_from_the_fallback(fallback):
    backend = SearchBackend("es", {"URL": f"http://127.0.0.1:{closed_port()}"}, fallback=fallback)
    check_fallback_answers(backend, fallback, ConnectionError, budget=1.0)


def test_cluster_slower_than_the_timeout_answers_from_the_fallback(silent, fallback):
    options = {"URL": silent.url, "REQUEST_TIMEOUT": 0.5, "WRITE_TIMEOUT": 0.5}
    backend = SearchBackend("es", options, fallback=fallback)
    check_fallback_answers(backend, fallback, ConnectionTimeout, budget=0.5 + 0.75)
    # and the next searches do not wait again while the cluster cools off
    started = time.monotonic()
    assert search(backend, "travel").notice == NOTICE
    assert time.monotonic() - started < 0.25
