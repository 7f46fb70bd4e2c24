"""What the search layer stores in the project database.

``Chunk`` rows are the embedded backend's durable copy of each chunk (text,
metadata and vector), from which ``search_reindex`` rebuilds its index
without embedding again; other backends keep their own copy and ignore
them. ``IndexedPage`` and ``IndexOutbox`` are backend-neutral: they order indexing by revision and keep work that has not
reached a worker yet.
"""

from django.db import models
from wagtail.admin.panels import FieldPanel


class Chunk(models.Model):
    namespace = models.CharField(max_length=64, db_index=True)
    page_id = models.BigIntegerField(db_index=True)
    position = models.PositiveIntegerField()
    title = models.TextField()
    heading = models.TextField(blank=True)
    text = models.TextField()
    content_hash = models.CharField(max_length=64, db_index=True)
    model_id = models.CharField(max_length=200)
    vector = models.BinaryField()
    metadata = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["namespace", "page_id", "position"], name="unique_chunk_position")
        ]


class IndexedPage(models.Model):
    """Indexing state of one page: the revision indexed, and failures."""

    class State(models.TextChoices):
        INDEXED = "indexed", "Indexed"
        REMOVED = "removed", "Removed"
        FAILED = "failed", "Failing"

    page_id = models.BigIntegerField(unique=True)
    revision_id = models.BigIntegerField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.INDEXED)
    chunk_count = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True, help_text="e.g. attachments that could not be read")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"page {self.page_id} r{self.revision_id} {self.state}"


class IndexOutbox(models.Model):
    """Indexing work written in the same transaction as the change that
    caused it. A worker deletes the row when the work is done; rows left
    behind (broker down, worker killed) are drained by a periodic task."""

    page_id = models.BigIntegerField(db_index=True)
    revision_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.reason} page {self.page_id}"


class Synonym(models.Model):
    """Words civil servants use for the same thing: ``FOI, freedom of information``.

    Every term in a group expands to the others at search time, in every mode.
    """

    terms = models.CharField(
        max_length=500,
        unique=True,
        help_text="Comma-separated equivalent terms or phrases, e.g. 'FOI, freedom of information'",
    )
    note = models.CharField(max_length=255, blank=True)

    panels = [FieldPanel("terms"), FieldPanel("note")]

    class Meta:
        ordering = ["terms"]

    def __str__(self):
        return self.terms

    def term_list(self):
        return [t.strip() for t in self.terms.split(",") if t.strip()]
