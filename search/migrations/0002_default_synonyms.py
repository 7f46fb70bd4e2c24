from django.db import migrations

DEFAULT_SYNONYMS = [
    ("FOI, freedom of information, access to information", "Transparency requests"),
    ("PII, personal data, personally identifiable information, personal information", "Data protection"),
    ("DPIA, data protection impact assessment, privacy impact assessment", "Data protection"),
    ("SAR, subject access request", "Data protection"),
    ("RFP, request for proposals, invitation to tender, ITT", "Procurement"),
    ("SLA, service level agreement", "Contracts"),
    ("MFA, multi-factor authentication, two-factor authentication, 2FA", "Security"),
    ("KPI, key performance indicator", "Performance"),
    ("SOP, standard operating procedure", "Procedures"),
    ("COI, conflict of interest", "Integrity"),
    ("WFH, working from home, remote work, telework", "Working arrangements"),
    ("laptop, notebook computer", "Equipment"),
]


def add(apps, schema_editor):
    Synonym = apps.get_model("kmsearch", "Synonym")
    for terms, note in DEFAULT_SYNONYMS:
        Synonym.objects.get_or_create(terms=terms, defaults={"note": note})


def remove(apps, schema_editor):
    Synonym = apps.get_model("kmsearch", "Synonym")
    Synonym.objects.filter(terms__in=[t for t, _ in DEFAULT_SYNONYMS]).delete()


class Migration(migrations.Migration):
    dependencies = [("kmsearch", "0001_initial")]
    operations = [migrations.RunPython(add, remove)]
