"""Who an identity provider's user is in GovKM, and which of its groups
make which GovKM groups."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models


class OidcIdentity(models.Model):
    """A GovKM user as the identity provider knows them: its issuer and the
    subject it gives them, which never changes (an email address can, and
    two people can share one). One user may have an identity at several
    issuers (a move from one provider to another)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True, help_text="Last sign-in or silent refresh")
    refused_at = models.DateTimeField(null=True, blank=True)
    refusal = models.CharField(max_length=255, blank=True, help_text="Why the provider last refused a refresh")

    class Meta:
        app_label = "kmsite"
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_issuer_subject")]
        verbose_name = "identity provider account"

    def __str__(self):
        return f"{self.user} at {self.issuer}"


class GroupMapping(models.Model):
    """Members of ``idp_group`` at the identity provider are members of
    ``group`` in GovKM, from their next sign-in or session refresh; leaving
    it there removes them from ``group`` here too."""

    idp_group = models.CharField(
        "identity provider group", max_length=255,
        help_text="As the provider sends it in the groups claim: a name, a path such as /govkm/editors "
                  "(Keycloak), or an object id (Entra ID).")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="sso_mappings",
                              verbose_name="GovKM group")
    note = models.CharField(max_length=255, blank=True, help_text="What the provider group is, for other administrators")

    class Meta:
        app_label = "kmsite"
        ordering = ["idp_group", "group__name"]
        constraints = [models.UniqueConstraint(fields=["idp_group", "group"], name="sso_mapping_unique")]
        verbose_name = "group mapping"

    def __str__(self):
        return f"{self.idp_group} → {self.group.name}"
