from django.apps import AppConfig


class KmSearchConfig(AppConfig):
    """Semantic search. Labelled ``kmsearch`` so it never collides with ``wagtailsearch``."""

    name = "search"
    label = "kmsearch"
    verbose_name = "GovKM search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from knowledge.subscriptions.registry import register_query_matcher

        from . import checks, signal_handlers  # noqa: F401
        from .saved_searches import queries_matching

        register_query_matcher(queries_matching)
