"""Saved searches matched against a changed page, for knowledge's
followers (registered in ``KmSearchConfig.ready`` through
``knowledge.subscriptions.registry``).

The rule: a saved search matches a page when every term of its words
(analysed as the index analyses them, synonyms of the whole query
allowed) occurs in the page's title, summary or text. It reads the
page itself, not the index, which a worker may not have updated yet
when the change is published.
"""

from knowledge.models import KnowledgePage

from .analysis import analyse
from .extract import page_sections
from .service import load_synonyms


def queries_matching(page_id, queries):
    page = KnowledgePage.objects.filter(pk=page_id).first()
    if page is None:
        return []
    page = page.specific
    text = " ".join([page.title, getattr(page, "summary", "")] + [s.heading + " " + s.text for s in page_sections(page)])
    present = set(analyse(text))
    synonyms = load_synonyms()
    matched = []
    for query in queries:
        terms = set(analyse(query))
        if terms and terms <= present:
            matched.append(query)
            continue
        for extra in synonyms.expansions(query):
            alternative = set(analyse(extra))
            if alternative and alternative <= present:
                matched.append(query)
                break
    return matched
