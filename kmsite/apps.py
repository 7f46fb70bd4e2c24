from django.apps import AppConfig


class KmsiteConfig(AppConfig):
    name = "kmsite"
    verbose_name = "GovKM site"
