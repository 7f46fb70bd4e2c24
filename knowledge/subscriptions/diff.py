"""A readable comparison of two published versions of a page, for readers.

Each revision is turned into the text a reader sees (title, summary, then
each field's searchable text, paragraph by paragraph) and compared line
by line with ``difflib``. Wagtail's own comparison is for the admin only.
"""

import difflib

from django.db import models
from django.utils.html import strip_tags
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Revision

SKIP = {"material_change", "change_summary", "search_description", "seo_title", "slug", "url_path", "draft_title"}


def revision_lines(revision):
    if revision is None:
        return []
    page = revision.as_object()
    lines = []
    for field in page._meta.concrete_fields:
        if field.name in SKIP:
            continue
        value = getattr(page, field.attname, None)
        if isinstance(field, StreamField):
            for block in value or []:
                for text in block.block.get_searchable_content(block.value):
                    lines += _paragraphs(strip_tags(str(text)))
        elif isinstance(field, RichTextField):
            lines += _paragraphs(strip_tags(str(value or "")))
        elif field.name in ("title", "summary") or (
                isinstance(field, (models.CharField, models.TextField)) and field.model is not _base_page_model()
                and field.choices is None and field.editable and value):
            lines += _paragraphs(str(value))
    return lines


def _base_page_model():
    from wagtail.models import Page

    return Page


def _paragraphs(text):
    return [" ".join(p.split()) for p in text.replace("\r", "").split("\n") if p.strip()]


def compare(old_revision_id, new_revision_id):
    """[(op, text)] with op one of "same", "removed", "added"."""
    old = Revision.objects.filter(pk=old_revision_id).first() if old_revision_id else None
    new = Revision.objects.filter(pk=new_revision_id).first() if new_revision_id else None
    a, b = revision_lines(old), revision_lines(new)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out += [("same", line) for line in a[i1:i2]]
            continue
        out += [("removed", line) for line in a[i1:i2]]
        out += [("added", line) for line in b[j1:j2]]
    return out
