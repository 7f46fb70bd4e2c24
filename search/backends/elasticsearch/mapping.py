"""What a chunk looks like inside Elasticsearch: analysis, mapping, documents.

One document per chunk, ``_id`` = ``"{page_id}:{position}"``. Text is
analysed like ``search.analysis`` (words split at hyphens and apostrophes
and also indexed whole, English stop words, Snowball stemming); an index
made before that analysis needs ``search_reindex``;
synonyms apply at search time only, through an updateable ``synonym_graph``
filter, so changing them never needs a reindex.
"""

from elasticsearch.dsl import DenseVector, Index, Keyword, Mapping, Object, Text, analyzer, token_filter

from ...analysis import STOP_WORDS, stem

#: lexical fields and their multi_match boosts
TEXT_FIELDS = {"title": 2.0, "heading": 1.5, "text": 1.0, "summary": 0.5}
#: exact-value fields: filters, facets, bookkeeping
KEYWORD_FIELDS = (
    "page_id", "position", "revision_id", "content_type", "topics", "units", "status", "audience",
    "freshness", "access", "content_hash", "model_id",
)
#: shown with a hit, never searched
STORED_FIELDS = ("url", "unit_name", "successor_id", "last_reviewed", "source")
METADATA_FIELDS = (
    "content_type", "topics", "units", "status", "audience", "freshness", "access", "revision_id",
) + STORED_FIELDS
VECTOR_FIELD = "vector"


class ElasticsearchMapping:
    analyzer_name = "govkm_english"
    search_analyzer_name = "govkm_english_search"
    synonym_filter_name = "govkm_synonyms"

    def __init__(self, options):
        self.options = options

    # --- analysis ------------------------------------------------------------
    @staticmethod
    def synonym_rules(groups):
        """Solr-format rules ("a, b, c") from ``Synonym.term_list()`` groups."""
        rules = []
        for group in groups:
            terms = [" ".join(t.replace(",", " ").replace("=>", " ").split()) for t in group]
            terms = list(dict.fromkeys(t for t in terms if t))
            if len(terms) > 1:
                rules.append(", ".join(terms))
        return sorted(rules)

    def synonym_filter(self, rules):
        # lenient: a rule that analyses to nothing is skipped instead of
        # failing index creation
        return {"type": "synonym_graph", "synonyms": list(rules), "updateable": True, "lenient": True}

    @staticmethod
    def stop_words():
        # Stop words are removed after stemming (so that synonym rules see
        # no position gaps), hence the list holds each word and its stem.
        return sorted(STOP_WORDS | {stem(w) for w in STOP_WORDS})

    @staticmethod
    def word_parts(catenate):
        """Split words at hyphens and apostrophes like ``search.analysis``
        (the whitespace tokenizer keeps "GH-1" whole for this filter to see;
        the standard tokenizer would split it first). At index time the
        whole is also written as one word ("GH-1" as "gh1", "e-mail" as
        "email"), so "GH1", "GH 1" and "GH-1" in a question all find "GH-1"
        in a page. At search time the parts only: the synonym filter after
        it cannot read the branching token stream catenation makes."""
        options = {"split_on_case_change": False, "split_on_numerics": False, "preserve_original": False,
                   "stem_english_possessive": True}
        if catenate:
            options["catenate_all"] = True
        return token_filter("govkm_word_parts" if catenate else "govkm_query_parts", "word_delimiter_graph", **options)

    def analyzers(self, rules):
        stemmer = token_filter("govkm_stemmer", "stemmer", language="porter2")
        stop = token_filter("govkm_stop", "stop", stopwords=self.stop_words())
        synonyms = token_filter(self.synonym_filter_name, **self.synonym_filter(rules))
        # flatten_graph: an index stores one token stream, not a graph
        index_time = analyzer(
            self.analyzer_name, tokenizer="whitespace",
            filter=[self.word_parts(True), "flatten_graph", "lowercase", stemmer, stop],
        )
        search_time = analyzer(
            self.search_analyzer_name, tokenizer="whitespace",
            filter=[self.word_parts(False), "lowercase", stemmer, synonyms, stop],
        )
        return index_time, search_time

    # --- index definition --------------------------------------------------
    def mapping(self, dims, rules):
        index_time, search_time = self.analyzers(rules)
        m = Mapping()
        m.meta("dynamic", "strict")
        for name in TEXT_FIELDS:
            m.field(name, Text(analyzer=index_time, search_analyzer=search_time))
        for name in KEYWORD_FIELDS:
            m.field(name, Keyword())
        for name in STORED_FIELDS:
            m.field(name, Keyword(index=False, doc_values=False))
        m.field("extra", Object(enabled=False))
        m.field(
            VECTOR_FIELD,
            DenseVector(
                dims=int(dims),
                index=True,
                similarity="cosine",
                index_options={
                    "type": self.options.vector_index_type,
                    "m": int(self.options.hnsw_m),
                    "ef_construction": int(self.options.hnsw_ef_construction),
                },
            ),
        )
        return m

    def index_body(self, name, dims, rules, *, building=False, aliases=None):
        """``indices.create`` arguments (settings, mappings, aliases). A copy
        being rebuilt has no replicas and no periodic refresh until it goes live."""
        index = Index(name)
        index.settings(
            number_of_shards=int(self.options.number_of_shards),
            number_of_replicas=0 if building else int(self.options.number_of_replicas),
            refresh_interval="-1" if building else "1s",
        )
        index.mapping(self.mapping(dims, rules))
        if aliases:
            index.aliases(**aliases)
        return index.to_dict()

    # --- documents -----------------------------------------------------------
    def document(self, chunk):
        meta = dict(chunk.metadata)
        doc = {
            "page_id": chunk.page_id,
            "position": chunk.position,
            "title": chunk.title,
            "heading": chunk.heading,
            "text": chunk.text,
            "summary": chunk.summary,
            "content_hash": chunk.content_hash,
            "model_id": chunk.model_id,
        }
        for name in METADATA_FIELDS:
            if meta.get(name) is not None:
                doc[name] = meta.pop(name)
            else:
                meta.pop(name, None)
        meta.pop("summary", None)
        if meta:
            doc["extra"] = meta
        doc[VECTOR_FIELD] = [float(x) for x in chunk.vector]
        return doc

    def action(self, index, chunk):
        return {"_op_type": "index", "_index": index, "_id": chunk.chunk_id, "_source": self.document(chunk)}

    def metadata(self, source):
        """The chunk's metadata dict as GovKM handed it in (like the embedded backend)."""
        meta = {name: source[name] for name in METADATA_FIELDS if name in source}
        meta.update(source.get("extra") or {})
        meta["summary"] = source.get("summary", "")
        return meta
