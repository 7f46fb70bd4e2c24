"""Who a learner is for training purposes: unit, job profile and manager."""

from django.conf import settings
from django.db import models
from wagtail.admin.panels import FieldPanel


class StaffProfile(models.Model):
    """A user's place in the organisation: the unit they belong to, their job
    profile (which states the levels they need) and their line manager.

    Unit and job profile drive assignments: joining a unit or taking a job
    profile brings that unit's or profile's assignments with it.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile")
    unit = models.ForeignKey(
        "knowledge.OrgUnit", null=True, blank=True, on_delete=models.SET_NULL, related_name="staff"
    )
    job_profile = models.ForeignKey(
        "training.JobProfile", null=True, blank=True, on_delete=models.SET_NULL, related_name="staff"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="direct_reports",
        help_text="Line manager; the unit's manager also sees this person's records",
    )
    joined_unit_on = models.DateField(null=True, blank=True)

    panels = [FieldPanel("user"), FieldPanel("unit"), FieldPanel("job_profile"), FieldPanel("manager"),
              FieldPanel("joined_unit_on")]

    class Meta:
        verbose_name = "staff profile"
        ordering = ["user__username"]
        permissions = [
            ("view_all_training", "Can see every learner's training records and reports"),
            ("import_training_data", "Can import users, units and assignments from CSV"),
        ]

    def __str__(self):
        return self.user.get_full_name() or self.user.get_username()
