"""The maths and text handling, tested directly."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.analysis import MARK_END, MARK_START, SynonymMap, analyse, highlight, render_marked
from search.chunking import chunk_sections
from search.embeddings.base import normalise
from search.embeddings.fake import HashingEmbedder, HashingOptions
from search.evaluation import mrr_at_k, ndcg_at_k, recall_at_k
from search.extract import Section, html_to_sections
from search.service import rrf


def test_rrf_matches_the_formula():
    scores = rrf([["a", "b", "c"], ["c", "a"]], k=60)
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["b"] == pytest.approx(1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    weighted = rrf([["a"], ["b"]], k=2, weights=[1.0, 2.0])
    assert weighted["b"] == pytest.approx(2 / 3) and weighted["a"] == pytest.approx(1 / 3)


def _engine(tmp_path, **options):
    from search.backends.local import LocalSearchBackend

    return LocalSearchBackend("maths", {"PATH": str(tmp_path), **options})


def _records(vectors=None, texts=None):
    from dataclasses import replace

    from .contract import record

    texts = texts or ["x"] * len(vectors)
    out = [record(i + 1, 0, t, title="") for i, t in enumerate(texts)]
    return [replace(r, title="", vector=vectors[i]) for i, r in enumerate(out)] if vectors is not None else out


@pytest.mark.django_db
@pytest.mark.parametrize("graph", [False, True])
def test_cosine_is_the_dot_product_of_normalised_vectors(tmp_path, graph):
    from search.backends.base import Filters

    rng = np.random.default_rng(1)
    docs = normalise(rng.standard_normal((50, 16)))
    query = normalise(rng.standard_normal((1, 16)))[0]
    options = {"HNSW_MIN_ROWS": 1, "EXACT_SEARCH_BELOW": 1, "MAX_SMALL_SEGMENTS": 0} if graph else {}
    engine = _engine(tmp_path, **options)
    engine.index_many("m", {r.page_id: [r] for r in _records(docs)})
    hits = engine.search("m", text="", terms=[], vector=query, filters=Filters(access=["public"]), mode="semantic",
                         limit=50).vector
    expected = {i + 1: float(d @ query / (np.linalg.norm(d) * np.linalg.norm(query))) for i, d in enumerate(docs)}
    assert len(hits) == 50
    assert all(h.score == pytest.approx(expected[h.page_id], abs=1e-6) for h in hits)
    assert [h.page_id for h in hits] == sorted(expected, key=expected.get, reverse=True)
    # identical direction scores 1, opposite -1
    engine.index_many("m2", {r.page_id: [r] for r in _records(np.stack([query, -query]))})
    hits = engine.search("m2", text="", terms=[], vector=query, filters=Filters(access=["public"]), mode="semantic",
                         limit=2).vector
    assert [round(h.score, 5) for h in hits] == [1.0, -1.0]


@pytest.mark.django_db
def test_bm25_matches_a_hand_computation(tmp_path):
    """tantivy's BM25 (k1 1.2, b 0.75) over the body field; lengths this
    short are stored exactly (tantivy keeps longer ones in one byte)."""
    from search.backends.base import Filters

    engine = _engine(tmp_path, FIELD_BOOSTS={"body": 1.0, "title": 0.0})
    engine.index_many("b", {r.page_id: [r] for r in _records(texts=["cat sat", "cats cat dog bird", "fish"])})

    def scores(access=("public",)):
        hits = engine.search("b", text="cat", terms=["cat"], vector=None, filters=Filters(access=list(access)),
                             mode="lexical", limit=10).lexical
        return {h.page_id: h.score for h in hits}

    n, df, avgdl = 3, 2, (2 + 4 + 1) / 3
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))

    def bm25(tf, dl):
        return idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * dl / avgdl))

    found = scores()
    assert found[1] == pytest.approx(bm25(1, 2), rel=1e-5)
    assert found[2] == pytest.approx(bm25(2, 4), rel=1e-5)
    assert 3 not in found
    # a viewer without the access token scores nothing
    assert scores(["auth"]) == {}


def test_metrics():
    grades = {"a": 2, "b": 1, "z": 2}
    assert ndcg_at_k(["a", "z", "b"], grades) == pytest.approx(1.0)
    dcg = 0 + 2 / math.log2(3)
    idcg = 2 + 2 / math.log2(3) + 1 / 2
    assert ndcg_at_k(["x", "a"], grades) == pytest.approx(dcg / idcg)
    assert recall_at_k(["a", "q"], grades) == pytest.approx(1 / 3)
    assert mrr_at_k(["q", "r", "b"], grades) == pytest.approx(1 / 3)
    assert mrr_at_k(["q"], grades) == 0


def test_analysis_stems_and_drops_stop_words():
    assert analyse("The Policies on Procurement") == ["polici", "procur"]
    assert "e" in analyse("e-government") and "govern" in analyse("e-government")
    # a form number matches however it is written
    assert "gh1" in analyse("form GH-1") and "gh1" in analyse("the GH1") and "email" in analyse("e-mail")


def test_synonyms_expand_both_ways_and_phrases():
    synonyms = SynonymMap([["FOI", "freedom of information"], ["PII", "personal data"]])
    assert synonyms.expansions("FOI deadline") == ["freedom of information"]
    assert synonyms.expansions("a freedom of information request") == ["FOI"]
    assert synonyms.expansions("freedom alone") == []
    assert synonyms.expand_query("PII breach") == "PII breach (personal data)"


def _expansions_by_definition(groups, text):
    """What SynonymMap.expansions must give, written as plainly as possible:
    each phrase of each group, in the groups' order, tried against the
    query's terms at every position."""
    groups = [list(dict.fromkeys(g)) for g in groups if len(g) > 1]
    phrases = {}
    for group in groups:
        for term in group:
            if analyse(term):
                phrases.setdefault(tuple(analyse(term)), []).append(group)
    terms, found = analyse(text), []
    for key, holding in phrases.items():
        if any(tuple(terms[i : i + len(key)]) == key for i in range(len(terms))):
            found += [t for group in holding for t in group if tuple(analyse(t)) != key]
    return list(dict.fromkeys(found))


SYNONYM_WORDS = ["FOI", "freedom", "of", "information", "data", "personal", "PII", "leave", "annual",
                 "holiday", "the", "e-government", "government", "travel", "trip"]
SYNONYM_GROUPS = [["FOI", "freedom of information"], ["PII", "personal data"], ["annual leave", "holiday"],
                  ["travel", "trip", "annual travel"], ["e-government", "digital government"], ["holiday", "leave"]]


@given(st.lists(st.sampled_from(SYNONYM_WORDS), max_size=12))
def test_synonym_expansions_follow_their_definition(words):
    # the map looks phrases up by first stem and remembers texts; this
    # holds it to the plain definition, order included (it decides the
    # text that is embedded), asked twice so the remembered answer counts
    synonyms = SynonymMap(SYNONYM_GROUPS)
    text = " ".join(words)
    expected = _expansions_by_definition(SYNONYM_GROUPS, text)
    assert synonyms.expansions(text) == expected
    assert synonyms.expansions(text) == expected


def test_remembered_synonym_expansions_cannot_be_changed_by_a_caller():
    synonyms = SynonymMap([["FOI", "freedom of information"]])
    synonyms.expansions("FOI rules").append("tampered")
    assert synonyms.expansions("FOI rules") == ["freedom of information"]


def test_highlight_marks_matching_words_and_render_escapes_everything():
    text = 'Report <script>alert("x")</script> lost laptops to the desk'
    marked = highlight(text, analyse("laptop"))
    assert f"{MARK_START}laptops{MARK_END}" in marked
    html = render_marked(marked)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<mark>laptops</mark>" in html


@given(st.text(max_size=400), st.text(max_size=40))
def test_rendered_snippets_never_contain_raw_markup(text, query):
    html = render_marked(highlight(text, analyse(query)))
    stripped = html.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in stripped and ">" not in stripped


WORDISH = st.text(alphabet=st.sampled_from(list("abcdeilnorstuy-' ’.,É")), max_size=300)


@given(WORDISH, WORDISH)
def test_highlighting_marks_exactly_the_words_whose_stems_or_parts_match(text, query):
    """The remembered per-passage tokens give the same marks as stemming each
    word (written as one, and each part of a hyphenated or elided one)
    afresh, every time."""
    import re

    from search.analysis import joined, stem, words

    terms = set(analyse(query))
    expected = [
        (s, e) for w, s, e in words(text)
        if stem(joined(w)) in terms or (("-" in w or "'" in w) and any(stem(p) in terms for p in re.split(r"[-']", w) if p))
    ]
    marked = highlight(text, terms, max_chars=10_000)
    assert marked.count(MARK_START) == len(expected)
    for _ in range(2):  # the second time from the remembered tokens
        assert highlight(text, terms, max_chars=10_000) == marked


def test_chunks_respect_the_token_budget_and_overlap():
    sentences = [f"Sentence number {i} explains one rule of the procedure." for i in range(60)]
    chunks = chunk_sections([Section("Rules", " ".join(sentences))], max_tokens=60, overlap=15)
    assert len(chunks) > 5
    for c in chunks:
        assert len(c.text.split()) * 1.3 <= 60 + 15
    # consecutive chunks share their edge sentence(s)
    first_tail = chunks[0].text.split(". ")[-1]
    assert first_tail.rstrip(".") in chunks[1].text


def test_chunks_follow_headings_and_merge_tiny_sections():
    sections = html_to_sections("<h2>Scope</h2><p>Applies to all staff.</p><h2>Rules</h2><p>" + "Long rule text. " * 40 + "</p>")
    assert [s.heading for s in sections] == ["Scope", "Rules"]
    chunks = chunk_sections(sections, max_tokens=200, overlap=20)
    assert "Scope: Applies to all staff." in chunks[0].text  # tiny section travels with the next
    assert chunks[0].heading == "Rules"


def test_fake_embedder_is_deterministic_and_normalised():
    e = HashingEmbedder(HashingOptions(dimension=32))
    a, b = e.embed_documents(["lost laptop", "lost laptop"])
    assert np.allclose(a, b) and np.isclose(np.linalg.norm(a), 1.0)
    near, far = e.embed_documents(["lost laptop on train", "annual leave"])
    assert a @ near > a @ far
