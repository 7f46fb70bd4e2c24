from django.apps import AppConfig


class KmsiteConfig(AppConfig):
    name = "kmsite"
    verbose_name = "GovKM site"

    def ready(self):
        from . import throttle  # noqa: F401  (counts failed sign-ins from Django's signals)
