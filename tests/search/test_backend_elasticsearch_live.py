"""The backend contract against a real Elasticsearch 8 cluster.

Runs when ``KM_TEST_ELASTICSEARCH_URL`` names a cluster, for instance the
compose service: ``KM_TEST_ELASTICSEARCH_URL=http://localhost:9200 pytest -m
elasticsearch``. Without it every test here is skipped, and with
``KM_REQUIRE_ELASTICSEARCH=1`` (a CI job that provides a cluster) the skip
becomes a failure, so a missing cluster cannot pass unnoticed.

The fallback used here receives writes like the real one but refuses to
answer reads: a search that Elasticsearch failed to serve fails the test
instead of quietly passing on the embedded index.
"""

import os

import pytest

from search.backends.base import Filters
from search.backends.elasticsearch import SearchBackend
from search.backends.local import LocalSearchBackend
from search.models import Synonym

from .contract import EMBEDDER, BackendContract, record

URL = os.environ.get("KM_TEST_ELASTICSEARCH_URL", "")
REQUIRED = os.environ.get("KM_REQUIRE_ELASTICSEARCH") == "1"

pytestmark = [pytest.mark.elasticsearch, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _cluster_required():
    if not URL:
        reason = "KM_TEST_ELASTICSEARCH_URL is not set, so there is no Elasticsearch cluster to test against"
        if REQUIRED:
            pytest.fail(f"{reason} (and KM_REQUIRE_ELASTICSEARCH=1 requires one)")
        pytest.skip(reason)


class WriteOnlyFallback(LocalSearchBackend):
    def search(self, *args, **kwargs):
        raise AssertionError("Elasticsearch did not answer this search; the fallback was asked")

    def page_vector(self, *args, **kwargs):
        raise AssertionError("Elasticsearch did not answer page_vector; the fallback was asked")


def live_backend():
    options = {
        "URL": URL,
        "INDEX_PREFIX": os.environ.get("KM_TEST_ELASTICSEARCH_PREFIX", "govkm-test"),
        "NUMBER_OF_REPLICAS": 0,  # a one-node test cluster stays green
        "REQUEST_TIMEOUT": 15,
        "COOL_OFF": 0,
    }
    if os.environ.get("KM_TEST_ELASTICSEARCH_API_KEY"):
        options["API_KEY"] = os.environ["KM_TEST_ELASTICSEARCH_API_KEY"]
    if os.environ.get("KM_TEST_ELASTICSEARCH_CA_CERTS"):
        options["CA_CERTS"] = os.environ["KM_TEST_ELASTICSEARCH_CA_CERTS"]
    return SearchBackend("elasticsearch-live", options, fallback=WriteOnlyFallback("live-fallback", {}))


class TestElasticsearchBackend(BackendContract):
    def make_backend(self):
        return live_backend()

    def test_cluster_is_healthy(self, backend):
        health = backend.health()
        assert health["status"] in ("green", "yellow"), health
        assert health["nodes"] >= 1

    def test_index_uses_the_embedder_dimension_and_hnsw_options(self, backend):
        self.index(backend, record(1, 0, "mapping check"))
        mappings = backend.client.indices.get_mapping(index=backend.indices.read_alias(self.namespace)).body
        (index,) = mappings.values()
        vector = index["mappings"]["properties"]["vector"]
        assert vector["dims"] == EMBEDDER.dimension and vector["similarity"] == "cosine"
        assert vector["index_options"]["type"] == "hnsw" and vector["index_options"]["m"] == 16

    def test_english_stemming_matches_word_forms(self, backend):
        self.index(backend, record(1, 0, "The travel policy applies to all contractors"))
        hits = self.search(backend, "policies for contractor travelling", mode="lexical").lexical
        assert [h.page_id for h in hits] == [1]

    def test_synonyms_apply_at_search_time_and_can_be_updated(self, backend):
        Synonym.objects.all().delete()
        Synonym.objects.create(terms="FOI, freedom of information")
        self.index(
            backend,
            record(1, 0, "How to answer a freedom of information request"),
            record(2, 0, "Government procurement card limits for small purchases"),
        )
        assert [h.page_id for h in self._lexical(backend, "FOI")] == [1]
        assert self._lexical(backend, "GPC") == []
        Synonym.objects.create(terms="GPC, government procurement card")
        live = next(iter(backend.client.indices.get_alias(name=backend.indices.read_alias(self.namespace)).body))
        assert live in backend.update_synonyms()
        assert [h.page_id for h in self._lexical(backend, "GPC")] == [2]
        assert backend.update_synonyms() == []  # nothing changed, nothing closed

    def _lexical(self, backend, text):
        """Search with the raw text only, as Elasticsearch analyses it itself."""
        return backend.search(
            self.namespace, text=text, terms=[], vector=None, filters=Filters(access=["public"]), mode="lexical",
            limit=10,
        ).lexical


@pytest.mark.slow
def test_search_eval_on_the_shipped_collection(real_embedder, tmp_path, settings):
    """The same retrieval-quality check as the embedded backend
    (tests/search/test_quality.py), through the Elasticsearch backend."""
    import io
    import json
    from pathlib import Path

    from django.core.management import call_command

    from search.backends import reset_backends

    options = {"URL": URL, "INDEX_PREFIX": os.environ.get("KM_TEST_ELASTICSEARCH_PREFIX", "govkm-test"),
               "NUMBER_OF_REPLICAS": 0, "REQUEST_TIMEOUT": 15}
    if os.environ.get("KM_TEST_ELASTICSEARCH_API_KEY"):
        options["API_KEY"] = os.environ["KM_TEST_ELASTICSEARCH_API_KEY"]
    settings.KM_SEARCH_BACKENDS = {**settings.KM_SEARCH_BACKENDS,
                                   "es-live": {"BACKEND": "search.backends.elasticsearch", "OPTIONS": options}}
    reset_backends()
    out = tmp_path / "eval.json"
    collection = Path(__file__).resolve().parent.parent / "data" / "civil_service_beir"
    call_command("search_eval", beir=str(collection), backend="es-live", json_out=str(out), stdout=io.StringIO())
    report = json.loads(out.read_text())
    assert report["hybrid"]["ndcg@10"] > report["lexical"]["ndcg@10"]
    assert report["hybrid"]["ndcg@10"] > report["semantic"]["ndcg@10"]
