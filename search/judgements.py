"""Judged question sets about site content: reading, checking, resolving.

A set is a YAML file (or JSON lines, one question an object) of questions,
each asked as a viewer and judged against pages named by a stable key: a
page's slug or its URL path, never a database id. The formats are described
at the top of ``tests/data/site_questions.yaml`` and
``tests/data/answer_questions.yaml``. Everything that can be wrong with a set
is reported as a ``JudgementError`` naming the question, before anything is
run: a grade outside 0-3, a page that does not exist, a page graded for a
viewer who may not open it (the yardstick would then reward a leak).
"""

import dataclasses
import json
from pathlib import Path
from urllib.parse import urlparse

import yaml
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from knowledge.access import user_tokens
from knowledge.models import KnowledgePage, PageAccessToken

ANONYMOUS = "anonymous"
DEFAULT_VIEWER = "civil"
SITE_FIELDS = {"id", "q", "viewer", "tags", "grades", "note"}
ANSWER_FIELDS = {"id", "q", "viewer", "tags", "pages", "facts", "answerable", "note"}


class JudgementError(ValueError):
    pass


@dataclasses.dataclass
class Question:
    id: str
    q: str
    viewer: str = DEFAULT_VIEWER
    tags: tuple = ()
    grades: dict = dataclasses.field(default_factory=dict)  # page key -> 0..3 (site sets)
    pages: tuple = ()  # page keys an answer may come from (answer sets)
    facts: tuple = ()  # tuple of tuples of acceptable variants (answer sets)
    answerable: bool = True
    note: str = ""


def read_questions(path):
    """The raw question mappings of a YAML file or a JSON-lines file."""
    p = Path(path)
    if not p.exists():
        raise JudgementError(f"{p} does not exist")
    text = p.read_text(encoding="utf-8")
    if p.suffix in (".jsonl", ".ndjson"):
        items = []
        for n, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise JudgementError(f"{p}:{n}: not valid JSON ({exc.msg})") from exc
        return items
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise JudgementError(f"{p}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise JudgementError(f"{p}: expected a mapping with a 'questions' list")
    return data["questions"]


def _common(raw, n, allowed):
    if not isinstance(raw, dict):
        raise JudgementError(f"question {n}: expected a mapping")
    qid = str(raw.get("id") or "").strip()
    if not qid:
        raise JudgementError(f"question {n}: 'id' is missing")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise JudgementError(f"{qid}: unknown field(s) {', '.join(unknown)}")
    text = " ".join(str(raw.get("q") or "").split())
    if not text:
        raise JudgementError(f"{qid}: 'q' is missing")
    tags = raw.get("tags") or []
    if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
        raise JudgementError(f"{qid}: 'tags' must be a list of words")
    return qid, text, str(raw.get("viewer") or DEFAULT_VIEWER), tuple(tags), str(raw.get("note") or "")


def _unique(questions):
    seen = set()
    for q in questions:
        if q.id in seen:
            raise JudgementError(f"{q.id}: the id is used twice")
        seen.add(q.id)
    return questions


def load_site_questions(path):
    """Site questions: each graded per page, with at least one answer (3)."""
    questions = []
    for n, raw in enumerate(read_questions(path), start=1):
        qid, text, viewer, tags, note = _common(raw, n, SITE_FIELDS)
        grades = raw.get("grades")
        if not isinstance(grades, dict) or not grades:
            raise JudgementError(f"{qid}: 'grades' must map page keys to grades")
        for key, grade in grades.items():
            if not isinstance(grade, int) or isinstance(grade, bool) or not 0 <= grade <= 3:
                raise JudgementError(f"{qid}: grade {grade!r} for {key} is not 0, 1, 2 or 3")
        if 3 not in grades.values():
            raise JudgementError(f"{qid}: no page is graded 3 (the answer)")
        questions.append(Question(qid, text, viewer, tags, grades={str(k): v for k, v in grades.items()}, note=note))
    return _unique(questions)


def load_answer_questions(path):
    """Answer questions: answerable ones name pages and facts; others say
    ``answerable: false`` and name neither."""
    questions = []
    for n, raw in enumerate(read_questions(path), start=1):
        qid, text, viewer, tags, note = _common(raw, n, ANSWER_FIELDS)
        answerable = raw.get("answerable", True)
        if not isinstance(answerable, bool):
            raise JudgementError(f"{qid}: 'answerable' must be true or false")
        pages, facts = raw.get("pages") or [], raw.get("facts") or []
        if not answerable:
            if pages or facts:
                raise JudgementError(f"{qid}: an unanswerable question names no pages or facts")
        else:
            if not pages or not all(isinstance(p, str) for p in pages):
                raise JudgementError(f"{qid}: 'pages' must list the pages that answer it")
            if not facts or not all(isinstance(f, list) and f and all(isinstance(v, str) and v.strip() for v in f)
                                    for f in facts):
                raise JudgementError(f"{qid}: 'facts' must be a list of facts, each a list of variants")
        questions.append(Question(qid, text, viewer, tags, pages=tuple(pages),
                                  facts=tuple(tuple(f) for f in facts), answerable=answerable, note=note))
    return _unique(questions)


# --- against the database ------------------------------------------------------
def _path(url):
    return urlparse(url or "").path or "/"


class SiteIndex:
    """The live knowledge pages, by key, with their access tokens; and the
    viewers questions are asked as. Built once per evaluation."""

    def __init__(self):
        self.by_id, self.by_path, self.by_slug = {}, {}, {}
        for page in KnowledgePage.objects.live().specific():
            path = _path(page.get_url())
            self.by_id[page.pk] = page
            self.by_path[path] = page.pk
            self.by_slug.setdefault(page.slug, []).append(page.pk)
        self.tokens = {}
        for page_id, token in PageAccessToken.objects.filter(page_id__in=self.by_id).values_list("page_id", "token"):
            self.tokens.setdefault(page_id, set()).add(token)
        self._viewers = {}

    def key_of(self, page_id):
        """The stable key a result is reported under: its slug where that is
        unique, else its URL path."""
        page = self.by_id.get(page_id)
        if page is None:
            return f"page-{page_id}"
        return page.slug if len(self.by_slug.get(page.slug, ())) == 1 else _path(page.get_url())

    def resolve(self, key, where):
        if key.startswith("/"):
            page_id = self.by_path.get(_path(key))
            if page_id is None:
                raise JudgementError(f"{where}: no live page at {key}")
            return page_id
        ids = self.by_slug.get(key, [])
        if len(ids) != 1:
            raise JudgementError(f"{where}: " + (f"slug {key!r} is ambiguous; use the URL path" if ids
                                                 else f"no live page with slug {key!r}"))
        return ids[0]

    def viewer(self, name):
        """The user a question is asked as (AnonymousUser for "anonymous")."""
        if name not in self._viewers:
            if name == ANONYMOUS:
                user = AnonymousUser()
            else:
                user = get_user_model().objects.filter(username=name, is_active=True).first()
                if user is None:
                    raise JudgementError(f"viewer {name!r} is not an active user of this site")
            self._viewers[name] = user
        return self._viewers[name]

    def visible(self, page_id, viewer_name):
        return bool(self.tokens.get(page_id, set()) & user_tokens(self.viewer(viewer_name)))

    def resolve_visible(self, key, question):
        page_id = self.resolve(key, question.id)
        if not self.visible(page_id, question.viewer):
            raise JudgementError(f"{question.id}: {key} is graded but {question.viewer} may not open it")
        return page_id

    def grades_by_id(self, question):
        """{page id: grade} for a site question, checked against the site."""
        return {self.resolve_visible(k, question): g for k, g in question.grades.items() if g > 0}
