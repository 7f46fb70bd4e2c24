"""Snippets that classify knowledge: topics and the organisation's units."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.search import index


class Topic(index.Indexed, models.Model):
    """A subject in the knowledge taxonomy (procurement, data protection...)."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    panels = [FieldPanel("name"), FieldPanel("slug"), FieldPanel("description")]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class OrgUnit(index.Indexed, models.Model):
    """An organisation unit; units nest (ministry > directorate > unit)."""

    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=100, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_units",
        help_text="Receives escalations for this unit",
    )
    content_lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_units",
        help_text="Takes over the unit's pages when their owner leaves",
    )

    panels = [
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("parent"),
        FieldPanel("manager"),
        FieldPanel("content_lead"),
    ]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]
        verbose_name = "organisation unit"

    def __str__(self):
        return " › ".join(u.name for u in self.ancestors_and_self())

    def ancestors_and_self(self):
        chain, unit, seen = [], self, set()
        while unit is not None and unit.pk not in seen:
            seen.add(unit.pk)
            chain.append(unit)
            unit = unit.parent
        return list(reversed(chain))

    def descendant_ids(self):
        """Primary keys of this unit and every unit below it."""
        ids, frontier = {self.pk}, [self.pk]
        while frontier:
            frontier = list(
                OrgUnit.objects.filter(parent_id__in=frontier)
                .exclude(pk__in=ids)
                .values_list("pk", flat=True)
            )
            ids.update(frontier)
        return ids

    def clean(self):
        unit = self.parent
        while unit is not None:
            if unit.pk == self.pk:
                raise ValidationError({"parent": "A unit cannot sit below itself."})
            unit = unit.parent
