"""More default synonyms: acronyms civil servants type for things the
guidance spells out (found missing when the site question set was
diagnosed, issue 22), and one colloquial word. Administrators edit them in
the admin like the first defaults; removing this migration removes only
these groups."""

from django.db import migrations

ACRONYM_SYNONYMS = [
    ("SOC, security operations centre, security operations center", "Security"),
    ("DPO, data protection officer", "Data protection"),
    ("RFQ, request for quotations, request for quotation", "Procurement"),
    ("WCAG, web content accessibility guidelines", "Accessibility"),
    ("quote, quotation", "Procurement"),
]


def add(apps, schema_editor):
    Synonym = apps.get_model("kmsearch", "Synonym")
    for terms, note in ACRONYM_SYNONYMS:
        Synonym.objects.get_or_create(terms=terms, defaults={"note": note})


def remove(apps, schema_editor):
    Synonym = apps.get_model("kmsearch", "Synonym")
    Synonym.objects.filter(terms__in=[t for t, _ in ACRONYM_SYNONYMS]).delete()


class Migration(migrations.Migration):
    dependencies = [("kmsearch", "0004_embedded_engine_replaces_generations")]
    operations = [migrations.RunPython(add, remove)]
