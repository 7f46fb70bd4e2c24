"""The tantivy side of the embedded index: schema, documents and queries.

Text is analysed by GovKM itself (``search.analysis.analyse``: stop words,
Snowball stemming, hyphenated words as the whole and their parts), exactly
as the query is, and handed to tantivy as whitespace-separated terms, so
that what matches is what matched before, and synonyms (expanded into query
terms by the service) need nothing from the engine.

Two kinds of document (``kind``), each in its own index so that BM25's
collection statistics over passages count passages only:

- ``chunk``: one per passage, with its own lexical fields (body, heading,
  title, summary: separate, so each can carry its own BM25 weight), the
  filter fields, and the passage as stored JSON;
- ``page``: one per page, holding every term of the page in ``all`` and the
  page's filter fields. Facet counts and totals are counted over these, so
  each page counts once, by tantivy's aggregations. A page-level signal
  (e.g. a title-and-summary vector) can be added to it later.
"""

import json

import tantivy

from ...analysis import analyse
from ..base import FACET_FIELDS
from .options import LEXICAL_FIELDS

#: fields a filter applies to, as exact terms (multi-valued where lists)
FILTER_FIELDS = ("access", *FACET_FIELDS)
TERMS_TOKENIZER = "km_terms"
#: a generation's tantivy indexes: passages, pages
PARTS = ("text", "pages")
#: no stem is anywhere near this long; a pathological "word" is dropped
#: rather than refused (tantivy's own limit is 65,530 bytes)
LONGEST_TERM = 100


def build_schema():
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("kind", tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("uid", indexed=True, fast=True, stored=True)
    sb.add_integer_field("page_id", indexed=True, fast=True, stored=True)
    sb.add_integer_field("position", fast=True, stored=True)
    for field in LEXICAL_FIELDS:
        sb.add_text_field(field, tokenizer_name=TERMS_TOKENIZER, index_option="freq")
    sb.add_text_field("all", tokenizer_name=TERMS_TOKENIZER, index_option="basic")
    for field in FILTER_FIELDS:
        sb.add_text_field(field, tokenizer_name="raw", index_option="basic", fast=True)
    # stored only: the passage (title, heading, text) and its metadata, as JSON
    sb.add_text_field("passage", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("metadata", stored=True, tokenizer_name="raw", index_option="basic")
    return sb.build()


SCHEMA = build_schema()


def register_tokenizer(index):
    """Every Index object (reader or writer) must know the terms analyser."""
    analyzer = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace())
        .filter(tantivy.Filter.remove_long(LONGEST_TERM))
        .build()
    )
    index.register_tokenizer(TERMS_TOKENIZER, analyzer)


def open_index(path, create=False):
    index = tantivy.Index(SCHEMA, str(path), reuse=True) if create else tantivy.Index.open(str(path))
    register_tokenizer(index)
    return index


def _values(value):
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _add_filters(doc, metadata):
    for field in FILTER_FIELDS:
        for value in _values(metadata.get(field)):
            doc.add_text(field, value)


def analysed_fields(record):
    """The analysed terms of a ``ChunkRecord``'s lexical fields."""
    analysed = {"body": analyse(record.text), "heading": analyse(record.heading), "title": analyse(record.title),
                "summary": analyse(record.summary)}
    analysed["bag"] = analysed["body"] + analysed["heading"] + analysed["title"] * 2 + analysed["summary"]
    return analysed


def chunk_document(uid, record, analysed=None):
    """The tantivy document of one ``ChunkRecord`` (``uid`` never reused);
    ``analysed``: its ``analysed_fields``, if already known."""
    doc = tantivy.Document()
    doc.add_text("kind", "chunk")
    doc.add_integer("uid", uid)
    doc.add_integer("page_id", record.page_id)
    doc.add_integer("position", record.position)
    for field, terms in (analysed or analysed_fields(record)).items():
        if terms:
            doc.add_text(field, " ".join(terms))
    _add_filters(doc, record.metadata)
    doc.add_text("passage", json.dumps([record.title, record.heading, record.text]))
    doc.add_text("metadata", json.dumps({**record.metadata, "summary": record.summary}))
    return doc


def page_document(page_id, records, analysed=None):
    """The page's own document: every term of its passages, its filters.
    ``analysed``: the records' ``analysed_fields``, if already known."""
    doc = tantivy.Document()
    doc.add_text("kind", "page")
    doc.add_integer("page_id", page_id)
    first = records[0]
    if analysed is None:
        analysed = [{"title": analyse(first.title), "summary": analyse(first.summary), "heading": analyse(r.heading),
                     "body": analyse(r.text)} for r in records]
    terms = analysed[0]["title"] + analysed[0]["summary"]
    for a in analysed:
        terms += a["heading"] + a["body"]
    if terms:
        doc.add_text("all", " ".join(dict.fromkeys(terms)))
    _add_filters(doc, first.metadata)
    return doc


# --- queries -------------------------------------------------------------------
Q = tantivy.Query
MUST, SHOULD, MUST_NOT = tantivy.Occur.Must, tantivy.Occur.Should, tantivy.Occur.MustNot


def filter_clauses(filters, kind):
    """The viewer's filter as one required clause that adds nothing to the
    score: the access tokens (at least one held), each facet filter (any of
    its values), no excluded page."""
    clauses = [(MUST, Q.term_query(SCHEMA, "kind", kind))]
    for field, values in filters.terms():
        clauses.append((MUST, Q.term_set_query(SCHEMA, field, [str(v) for v in values])))
    if filters.exclude_pages:
        clauses.append((MUST_NOT, Q.term_set_query(SCHEMA, "page_id", [int(p) for p in filters.exclude_pages])))
    return [(MUST, Q.const_score_query(Q.boolean_query(clauses), 0.0))]


def unique_terms(terms):
    return [t for t in dict.fromkeys(terms) if t and len(t) <= LONGEST_TERM]


def lexical_query(terms, filters, boosts):
    """BM25 over the chunk fields: for each query term, its score in each
    field times the field's weight, summed (as Elasticsearch's
    ``multi_match`` of type ``most_fields``); filtered by ``filters``."""
    shoulds = []
    for term in unique_terms(terms):
        for field, weight in boosts.items():
            if weight > 0:
                q = Q.term_query(SCHEMA, field, term, index_option="freq")
                shoulds.append((SHOULD, q if weight == 1 else Q.boost_query(q, weight)))
    if not shoulds:
        return None
    return Q.boolean_query([*filter_clauses(filters, "chunk"), (MUST, Q.boolean_query(shoulds))])


def matched_pages_query(terms, page_ids, filters):
    """The pages a search matched, under ``filters``: those holding any
    query term, and those the vector side found close enough."""
    shoulds = [(SHOULD, Q.term_query(SCHEMA, "all", t)) for t in unique_terms(terms)]
    if page_ids:
        shoulds.append((SHOULD, Q.term_set_query(SCHEMA, "page_id", sorted(page_ids))))
    if not shoulds:
        return None
    return Q.boolean_query([*filter_clauses(filters, "page"), (MUST, Q.boolean_query(shoulds))])


def chunks_by_uid_query(uids):
    return Q.term_set_query(SCHEMA, "uid", [int(u) for u in uids])


def facet_aggregation(size=1000):
    """Terms per facet field, and the number of pages (one document each)."""
    return {"total": {"value_count": {"field": "page_id"}},
            **{field: {"terms": {"field": field, "size": size}} for field in FACET_FIELDS}}


def facet_counts(aggregated):
    """({field: {value: pages}}, pages) from tantivy's aggregations."""
    out = {}
    for field in FACET_FIELDS:
        buckets = (aggregated.get(field) or {}).get("buckets", [])
        out[field] = {b["key"]: int(b["doc_count"]) for b in buckets if b.get("doc_count")}
    return out, int((aggregated.get("total") or {}).get("value") or 0)
