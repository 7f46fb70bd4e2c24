"""Text analysis for the lexical side: tokens, stems, synonyms, highlights.

English analysis close to Elasticsearch's ``english`` analyzer (lower-case,
stop words, Snowball/Porter stemming), so that the embedded backend and the
Elasticsearch backend match the same words.
"""

import functools
import html
import re
import unicodedata

import Stemmer

TOKEN = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
STOP_WORDS = frozenset(
    """a an and are as at be but by for if in into is it no not of on or such that the their then
    there these they this to was will with i me my we our you your he she his her its them what which
    who whom do does did how can could should would may might must shall have has had been being am
    from about so than too very s t just any all""".split()
)
MARK_START, MARK_END = "\x02", "\x03"
_stemmer = Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=200_000)
def stem(word):
    return _stemmer.stemWord(word)


def normalise_text(text):
    return unicodedata.normalize("NFKC", text).lower().replace("’", "'")


def words(text):
    """Lower-cased word tokens with their character spans in ``text``."""
    folded = unicodedata.normalize("NFKC", text)
    for m in TOKEN.finditer(folded):
        yield m.group(0).lower().replace("’", "'"), m.start(), m.end()


def joined(word):
    """A hyphenated or elided word written as one ("GH-1" as "gh1",
    "e-mail" as "email"): how people often type form numbers and the like."""
    return re.sub(r"[-'’]", "", word)


def analyse(text):
    """The index terms of ``text``: stemmed, stop words dropped.
    Hyphenated words index as their parts and as the whole written as one
    word, so "GH-1", "GH 1" and "GH1" all match each other."""
    terms = []
    for word, _s, _e in words(text):
        parts = re.split(r"[-'’]", word) if ("-" in word or "'" in word) else [word]
        for part in parts:
            if part and part not in STOP_WORDS:
                terms.append(stem(part))
        if len(parts) > 1:
            terms.append(stem(joined(word)))
    return terms


class SynonymMap:
    """Groups of equivalent terms; each term or phrase expands to the rest.

    A map is built for one set of groups and never changes after, so the
    expansions of a text are remembered (every search asks twice: for its
    terms and for the text it embeds). Phrases are looked up by their
    first stem, not tried one by one against every query."""

    MEMO_SIZE = 4096

    def __init__(self, groups=()):
        self.groups = [list(dict.fromkeys(g)) for g in groups if len(g) > 1]
        by_phrase = {}
        for group in self.groups:
            for term in group:
                key = tuple(analyse(term))
                if key:
                    by_phrase.setdefault(key, []).append(group)
        # first stem -> [(order, phrase, [(term, its analysed phrase), ...])]
        self._by_first = {}
        for order, (key, groups) in enumerate(by_phrase.items()):
            alternatives = [(t, tuple(analyse(t))) for group in groups for t in group]
            self._by_first.setdefault(key[0], []).append((order, key, alternatives))
        self._memo = {}

    def expansions(self, text):
        """Alternative phrasings of the terms found in ``text``: for each
        phrase found (in the order the groups define them), the other terms
        of its groups."""
        found = self._memo.get(text)
        if found is None:
            found = self._expansions(text)
            if len(self._memo) >= self.MEMO_SIZE:
                self._memo.clear()
            self._memo[text] = found
        return list(found)

    def _expansions(self, text):
        terms = analyse(text)
        matched = {}
        for i, first in enumerate(terms):
            for order, key, alternatives in self._by_first.get(first, ()):
                if order not in matched and tuple(terms[i : i + len(key)]) == key:
                    matched[order] = [t for t, analysed in alternatives if analysed != key]
        found = [t for order in sorted(matched) for t in matched[order]]
        return tuple(dict.fromkeys(found))

    def expand_query(self, text):
        """``text`` followed by its synonyms: what gets embedded and matched."""
        extra = self.expansions(text)
        return f"{text} ({'; '.join(extra)})" if extra else text


def _word_stems(word):
    """The stems ``word`` matches a query by: its own, and for a hyphenated
    or elided word, each part's (only those words are split)."""
    if "-" in word or "'" in word:
        return frozenset([stem(joined(word)), *(stem(p) for p in re.split(r"[-']", word) if p)])
    return stem(word)


@functools.lru_cache(maxsize=1024)
def _tokens(text):
    """(stems, start, end) for each word of a passage. Remembered per text:
    a popular passage is shown for many different queries, and splitting and
    stemming it is most of what highlighting costs."""
    return tuple((_word_stems(w), s, e) for w, s, e in words(text))


def _matching_spans(text, query_terms):
    return [
        (s, e) for stems, s, e in _tokens(text)
        if (stems in query_terms if isinstance(stems, str) else not stems.isdisjoint(query_terms))
    ]


def highlight(text, query_terms, max_chars=320):
    """The best window of ``text`` with the words matching ``query_terms``
    (stems) wrapped in MARK_START/MARK_END. Not escaped: see ``render_marked``."""
    query_terms = set(query_terms)
    spans = _matching_spans(text, query_terms)
    if len(text) <= max_chars:
        start, end = 0, len(text)
    elif spans:
        # the window holding the most matches
        best, best_start = -1, 0
        for s, _e in spans:
            count = sum(1 for s2, _ in spans if s <= s2 < s + max_chars)
            if count > best:
                best, best_start = count, s
        start = max(0, best_start - 60)
        start = text.rfind(" ", 0, start) + 1 if start > 0 else 0
        end = min(len(text), start + max_chars)
    else:
        start, end = 0, max_chars
    if end < len(text):
        cut = text.rfind(" ", start, end)
        end = cut if cut > start else end
    out, pos = [], start
    for s, e in spans:
        if s < start or e > end:
            continue
        out.append(text[pos:s])
        out.append(MARK_START + text[s:e] + MARK_END)
        pos = e
    out.append(text[pos:end])
    snippet = "".join(out)
    return ("… " if start > 0 else "") + snippet + (" …" if end < len(text) else "")


def render_marked(marked):
    """Escape a marked snippet for HTML, turning the marks into <mark>."""
    marked = marked.replace("\x00", "")
    escaped = html.escape(marked.replace(MARK_START, "\x00S").replace(MARK_END, "\x00E"))
    return escaped.replace("\x00S", "<mark>").replace("\x00E", "</mark>")
