"""Search analytics: what people ask, what they open, what they don't find,
and (when switched on) which guidance each signed-in officer was shown."""

import uuid

from django.conf import settings
from django.db import models


class QueryLog(models.Model):
    """One search. The text is normalised and masked before it is stored;
    the user's identity is not kept, only their organisation unit."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(db_index=True)
    query = models.CharField(max_length=1000)
    mode = models.CharField(max_length=16)
    filters = models.JSONField(default=dict, blank=True)
    result_count = models.PositiveIntegerField()
    best_similarity = models.FloatField(null=True, blank=True)
    result_pages = models.JSONField(default=list, blank=True, help_text="Page ids in the order shown")
    unit = models.ForeignKey("knowledge.OrgUnit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    session_key = models.CharField(max_length=64, blank=True, help_text="A hash, not the session id")
    voter = models.CharField(
        max_length=64, blank=True, db_index=True,
        help_text="Signed-in searches: a keyed hash of the person and the query together (one person counts "
        "once towards a popular search; two searches of one person cannot be linked). Empty when anonymous.")
    reformulation_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    clicked = models.BooleanField(default=False)
    answer_state = models.CharField(
        max_length=16, blank=True, default="",
        help_text="The answer card: shown, or why not (low_confidence, superseded); empty when not tried",
    )
    answer_page_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.query


class HiddenSearchTerm(models.Model):
    """A search term a content owner has kept off the public "Popular
    searches" list (matched without regard to case or spacing)."""

    term = models.CharField(max_length=1000, unique=True)
    hidden_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["term"]

    def __str__(self):
        return self.term

    @staticmethod
    def normalise(text):
        return " ".join(text.split()).lower()


class ResultClick(models.Model):
    query_log = models.ForeignKey(QueryLog, on_delete=models.CASCADE, related_name="clicks")
    page_id = models.BigIntegerField()
    position = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)


class ContentRequest(models.Model):
    """A gap in the guidance, raised from unanswered searches and assigned
    to a unit. It closes when a page that answers it is published."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ANSWERED = "answered", "Answered"
        DECLINED = "declined", "Declined"

    title = models.CharField(max_length=255)
    example_queries = models.JSONField(default=list)
    search_count = models.PositiveIntegerField(default=0)
    unit = models.ForeignKey("knowledge.OrgUnit", on_delete=models.PROTECT, related_name="content_requests")
    due_date = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    answer_page = models.ForeignKey(
        "knowledge.KnowledgePage", null=True, blank=True, on_delete=models.SET_NULL, related_name="answers_requests",
        help_text="The page that answers this request; publishing it closes the request",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "due_date"]

    def __str__(self):
        return self.title


class PageFeedback(models.Model):
    """'Did this answer your question?' on a knowledge page, or on the
    answer card of a search (``kind`` "answer", with the search it answered
    and the revision the answer came from)."""

    class Kind(models.TextChoices):
        PAGE = "page", "On the page"
        ANSWER = "answer", "On the answer card"

    page = models.ForeignKey("knowledge.KnowledgePage", on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField()
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PAGE)
    search_id = models.UUIDField(null=True, blank=True, db_index=True, help_text="The QueryLog it answered")
    revision_id = models.BigIntegerField(null=True, blank=True)


class Exposure(models.Model):
    """Accountability: a page revision shown to (in results) or opened by a
    signed-in user. Recorded only when KM_ACCOUNTABILITY_LOG is on."""

    class Kind(models.TextChoices):
        SHOWN = "shown", "Shown in search results"
        ANSWER = "answer", "Shown as the answer card"
        OPENED = "opened", "Opened"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    page_id = models.BigIntegerField()
    revision_id = models.BigIntegerField(null=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    query_log = models.ForeignKey(QueryLog, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"])]
        permissions = [("view_accountability", "Can view and export what guidance officers were shown")]
