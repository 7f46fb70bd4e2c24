"""The backend contract: the same tests for every search backend.

Subclass ``BackendContract`` and implement ``make_backend()``; the embedded
backend runs it in every CI run (``test_backend_local.py``), the
Elasticsearch backend whenever KM_TEST_ELASTICSEARCH_URL points at a cluster
(``test_backend_elasticsearch_live.py``).
"""

import numpy as np
import pytest

from search.analysis import analyse
from search.backends.base import ChunkRecord, Filters
from search.embeddings.fake import HashingEmbedder, HashingOptions
from search.service import SearchService

EMBEDDER = HashingEmbedder(HashingOptions(dimension=64))
PUBLIC = ["public", "superuser"]


def record(page_id, position, text, *, title=None, access=PUBLIC, **meta):
    metadata = {
        "content_type": "policy",
        "topics": [],
        "units": [],
        "status": "in_force",
        "audience": "public",
        "freshness": "fresh",
        "access": list(access),
        "url": f"/p/{page_id}/",
        **meta,
    }
    title = title or f"Page {page_id}"
    return ChunkRecord(
        page_id=page_id,
        position=position,
        title=title,
        heading="",
        text=text,
        summary="",
        content_hash=f"h-{page_id}-{position}-{hash(text)}",
        model_id=EMBEDDER.model_id,
        vector=EMBEDDER.embed_documents([f"{title}. {text}"])[0],
        metadata=metadata,
    )


class BackendContract:
    namespace = "contract-test"

    def make_backend(self):
        raise NotImplementedError

    def refresh(self, backend):
        """Make writes visible to searches (Elasticsearch: _refresh)."""
        if hasattr(backend, "refresh"):
            backend.refresh(self.namespace)

    @pytest.fixture
    def backend(self):
        backend = self.make_backend()
        backend.drop_namespace(self.namespace)
        yield backend
        backend.drop_namespace(self.namespace)

    def index(self, backend, *records):
        pages = {}
        for r in records:
            pages.setdefault(r.page_id, []).append(r)
        for page_id, chunks in pages.items():
            backend.index_page(self.namespace, page_id, chunks)
        self.refresh(backend)

    def search(self, backend, text="", mode="hybrid", access=("public",), limit=50, **filters):
        terms = analyse(text)
        vector = EMBEDDER.embed_query(text) if text else None
        return backend.search(
            self.namespace,
            text=text,
            terms=terms,
            vector=vector,
            filters=Filters(access=list(access), **filters),
            mode=mode,
            limit=limit,
        )

    # --- indexing and deletion ---------------------------------------------
    def test_indexed_chunks_are_found_lexically(self, backend):
        self.index(backend, record(1, 0, "Report a lost laptop to the service desk"), record(2, 0, "Annual leave rules"))
        result = self.search(backend, "laptop", mode="lexical")
        assert [h.page_id for h in result.lexical] == [1]
        assert result.vector == []
        # a backend may highlight itself (Elasticsearch) or leave it to the service
        snippet = SearchService._snippet(result.lexical[0], analyse("laptop"))
        assert "<mark>laptop</mark>" in snippet

    def test_vector_hits_are_ordered_by_similarity(self, backend):
        self.index(
            backend,
            record(1, 0, "procurement tender thresholds for goods and services"),
            record(2, 0, "annual leave and sick leave"),
            record(3, 0, "procurement of services"),
        )
        result = self.search(backend, "procurement tender thresholds", mode="semantic")
        assert [h.page_id for h in result.vector][:2] == [1, 3]
        scores = [h.score for h in result.vector]
        assert scores == sorted(scores, reverse=True)
        assert result.lexical == []

    def test_reindexing_a_page_replaces_its_chunks(self, backend):
        self.index(backend, record(1, 0, "old wording about fax machines"), record(1, 1, "second chunk about fax"))
        self.index(backend, record(1, 0, "new wording about email"))
        assert self.search(backend, "fax", mode="lexical").lexical == []
        hits = self.search(backend, "email", mode="lexical").lexical
        assert [(h.page_id, h.position) for h in hits] == [(1, 0)]
        assert backend.count(self.namespace) == (1, 1)

    def test_deleted_page_disappears_from_both_sides(self, backend):
        self.index(backend, record(1, 0, "whistleblowing hotline"), record(2, 0, "whistleblowing protection"))
        backend.delete_page(self.namespace, 1)
        self.refresh(backend)
        result = self.search(backend, "whistleblowing", mode="hybrid")
        assert {h.page_id for h in result.lexical} == {2}
        assert {h.page_id for h in result.vector} == {2}

    # --- filters and permissions ---------------------------------------------
    def test_filters_are_or_within_a_field_and_and_across_fields(self, backend):
        self.index(
            backend,
            record(1, 0, "records retention", content_type="policy", topics=["records"]),
            record(2, 0, "records disposal", content_type="procedure", topics=["records"]),
            record(3, 0, "records lessons", content_type="lesson", topics=["audit"]),
        )
        r = self.search(backend, "records", mode="lexical", content_type=["policy", "procedure"])
        assert {h.page_id for h in r.lexical} == {1, 2}
        r = self.search(backend, "records", mode="lexical", content_type=["policy", "lesson"], topics=["records"])
        assert {h.page_id for h in r.lexical} == {1}
        r = self.search(backend, "records", mode="semantic", topics=["audit"])
        assert {h.page_id for h in r.vector} == {3}

    def test_hierarchical_unit_filter(self, backend):
        self.index(
            backend,
            record(1, 0, "travel claims", units=["finance", "finance-procurement"]),
            record(2, 0, "travel claims", units=["health"]),
        )
        assert {h.page_id for h in self.search(backend, "travel", mode="lexical", units=["finance"]).lexical} == {1}

    @pytest.mark.parametrize("mode", ["lexical", "semantic", "hybrid"])
    def test_access_filter_applies_inside_every_retrieval(self, backend, mode):
        self.index(
            backend,
            record(1, 0, "fraud investigation steps", access=["group:7", "superuser"], audience="restricted"),
            record(2, 0, "fraud reporting hotline", access=["auth", "superuser"], audience="internal"),
            record(3, 0, "fraud awareness for everyone"),
        )

        def pages(access):
            r = self.search(backend, "fraud investigation", mode=mode, access=access)
            return {h.page_id for h in r.lexical + r.vector}, r

        anonymous, r = pages(["public"])
        assert anonymous == {3}
        assert set(r.facets.get("audience", {})) <= {"public"}
        staff, _ = pages(["public", "auth", "group:3"])
        assert staff == {2, 3}
        cleared, _ = pages(["public", "auth", "group:7"])
        assert cleared == {1, 2, 3}
        admin, _ = pages(["public", "auth", "superuser"])
        assert admin == {1, 2, 3}

    def test_facets_count_distinct_pages_under_filters(self, backend):
        self.index(
            backend,
            record(1, 0, "open data publishing", topics=["open-data"], content_type="policy"),
            record(1, 1, "open data licences", topics=["open-data"], content_type="policy"),
            record(2, 0, "open data portal steps", topics=["open-data", "service-design"], content_type="procedure"),
            record(3, 0, "open data secret draft", topics=["open-data"], access=["group:1"]),
        )
        r = self.search(backend, "open data", mode="lexical")
        assert r.facets["topics"] == {"open-data": 2, "service-design": 1}
        assert r.facets["content_type"] == {"policy": 1, "procedure": 1}
        assert r.total_pages == 2

    def test_exclude_pages(self, backend):
        self.index(backend, record(1, 0, "hybrid working request"), record(2, 0, "hybrid working request form"))
        r = self.search(backend, "hybrid working", mode="semantic", exclude_pages=[1])
        assert {h.page_id for h in r.vector} == {2}

    # --- ranking -------------------------------------------------------------
    def test_bm25_prefers_rarer_terms_and_shorter_matches(self, backend):
        common = [record(i, 0, f"guidance note number {i} about staff") for i in range(10, 30)]
        self.index(
            backend,
            *common,
            record(1, 0, "guidance on asbestos surveys in older buildings"),
            record(2, 0, "guidance on asbestos surveys in older buildings and on many other unrelated matters of "
                         "estates management, facilities, cleaning, catering and car parking arrangements"),
        )
        hits = self.search(backend, "asbestos guidance", mode="lexical").lexical
        assert [h.page_id for h in hits[:2]] == [1, 2]
        assert hits[0].score > hits[1].score > hits[2].score > 0

    def test_results_are_deterministic(self, backend):
        self.index(backend, *[record(i, 0, "identical text about leave") for i in range(1, 6)])
        a = [h.page_id for h in self.search(backend, "leave", mode="lexical").lexical]
        b = [h.page_id for h in self.search(backend, "leave", mode="lexical").lexical]
        assert a == b and sorted(a) == [1, 2, 3, 4, 5]

    # --- lifecycle -------------------------------------------------------------
    def test_rebuild_swaps_atomically_and_old_index_answers_meanwhile(self, backend):
        self.index(backend, record(1, 0, "old policy on telephones"))
        handle = backend.start_rebuild(self.namespace)
        backend.index_page(handle, 2, [record(2, 0, "new policy on smartphones")])
        self.refresh(backend)
        assert {h.page_id for h in self.search(backend, "policy", mode="lexical").lexical} == {1}
        backend.finish_rebuild(self.namespace, handle)
        self.refresh(backend)
        assert {h.page_id for h in self.search(backend, "policy", mode="lexical").lexical} == {2}
        assert backend.count(self.namespace) == (1, 1)

    def test_page_vector_is_the_normalised_mean(self, backend):
        r0, r1 = record(1, 0, "alpha beta"), record(1, 1, "gamma delta")
        self.index(backend, r0, r1)
        v = backend.page_vector(self.namespace, 1)
        expected = (r0.vector + r1.vector) / 2
        expected /= np.linalg.norm(expected)
        assert np.allclose(v, expected, atol=1e-5)
        assert backend.page_vector(self.namespace, 99) is None

    def test_many_restricted_pages_stay_one_filter(self, backend):
        """5,000 pages each restricted to its own group: a user in one group
        sees that page and the public ones, never another group's."""
        records = [
            record(i, 0, f"restricted casework file {i} concerning disciplinary matters",
                   access=[f"group:{i}", "superuser"], audience="restricted")
            for i in range(1, 5001)
        ]
        records += [record(10_000 + i, 0, f"public guidance on disciplinary matters {i}") for i in range(20)]
        for start in range(0, len(records), 1000):
            batch = {}
            for r in records[start : start + 1000]:
                batch.setdefault(r.page_id, []).append(r)
            if hasattr(backend, "index_many"):
                backend.index_many(self.namespace, batch)
            else:
                for page_id, chunks in batch.items():
                    backend.index_page(self.namespace, page_id, chunks)
        self.refresh(backend)
        for mode in ("lexical", "semantic", "hybrid"):
            r = self.search(backend, "disciplinary casework", mode=mode, access=["public", "auth", "group:4321"], limit=200)
            seen = {h.page_id for h in r.lexical + r.vector}
            assert 4321 in seen or mode == "semantic"
            assert seen <= {4321} | {10_000 + i for i in range(20)}, mode
            assert r.facets["audience"].get("restricted", 0) <= 1
            anon = self.search(backend, "disciplinary casework", mode=mode, access=["public"], limit=200)
            assert all(h.page_id >= 10_000 for h in anon.lexical + anon.vector)
