"""Who may view each page, compiled to tokens (see ``knowledge/access.py``)."""

from django.db import models


class PageAccessToken(models.Model):
    """One token a viewer may hold to see a page; a viewer needs any one.

    Kept in step with audiences and view restrictions, so that every listing,
    count and search filters by a single ``token IN (...)`` clause however
    many pages are restricted.
    """

    page = models.ForeignKey("wagtailcore.Page", on_delete=models.CASCADE, related_name="access_tokens")
    token = models.CharField(max_length=64, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["page", "token"], name="unique_page_token")]

    def __str__(self):
        return f"{self.page_id}:{self.token}"
