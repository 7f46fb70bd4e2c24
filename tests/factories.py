"""Test data builders. Pages are created through Wagtail's tree API and
published through revisions, as an editor would."""

import datetime
import itertools

from django.contrib.auth import get_user_model
from wagtail.models import Page, Site
from wagtail.rich_text import RichText

from knowledge.models import (
    Citation,
    HomePage,
    LessonLearnedPage,
    OrgUnit,
    PolicyPage,
    ProcedurePage,
    SectionIndexPage,
    Topic,
)
from knowledge.roles import ROLE_GROUPS, ensure_roles

_seq = itertools.count(1)


def home_page():
    home = HomePage.objects.first()
    if home is None:
        root = Page.get_first_root_node()
        home = root.add_child(instance=HomePage(title="GovKM", slug=f"home-{next(_seq)}"))
        home.save_revision().publish()
        Site.objects.update_or_create(
            is_default_site=True, defaults={"hostname": "localhost", "port": 80, "root_page": home}
        )
    return home


def section(slug="policies", title=None):
    home = home_page()
    existing = SectionIndexPage.objects.child_of(home).filter(slug=slug).first()
    if existing:
        return existing
    s = home.add_child(instance=SectionIndexPage(title=title or slug.title(), slug=slug))
    s.save_revision().publish()
    return s


def topic(slug="procurement", name=None):
    return Topic.objects.get_or_create(slug=slug, defaults={"name": name or slug.replace("-", " ").title()})[0]


def unit(slug="finance", name=None, parent=None):
    return OrgUnit.objects.get_or_create(slug=slug, defaults={"name": name or slug.title(), "parent": parent})[0]


def user(username, role="civil_servant", **extra):
    groups = ensure_roles()
    User = get_user_model()
    u, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.gov", **extra})
    u.set_password("pw")
    if role == "administrator":
        u.is_superuser = u.is_staff = True
    u.save()
    u.groups.add(*[groups[g] for g in ROLE_GROUPS[role]])
    return u


def _publish(page, parent, publish=True, by=None):
    page.live = False
    parent.add_child(instance=page)
    revision = page.save_revision(user=by)
    if publish:
        revision.publish(user=by)
        page.refresh_from_db()
    return page


def policy(title="Travel policy", body="Staff travel by the cheapest reasonable means.", *, audience="public",
           status="in_force", topics=(), unit_=None, owner=None, cites=(), supersedes=None, publish=True,
           last_reviewed=None, review_interval_months=None, parent=None):
    n = next(_seq)
    page = PolicyPage(
        title=title,
        slug=f"policy-{n}",
        summary=f"Summary of {title}.",
        reference_number=f"POL-T-{n:04d}",
        status=status,
        audience=audience,
        unit=unit_,
        owner_user=owner,
        supersedes=supersedes,
        effective_date=datetime.date(2024, 1, 1),
        last_reviewed_at=last_reviewed,
        review_interval_months=review_interval_months,
        body=[("heading", "Rules"), ("paragraph", RichText(f"<p>{body}</p>"))],
    )
    page.topics = list(topics)
    for target in cites:
        page.citations.add(Citation(target=target, relation="references"))
    return _publish(page, parent or section("policies"), publish, owner)


def procedure(title="Claim expenses", steps=("Fill in form EX-1.", "Get approval."), *, audience="public",
              implements=(), owner=None, publish=True, topics=(), parent=None):
    n = next(_seq)
    page = ProcedurePage(
        title=title,
        slug=f"procedure-{n}",
        summary=f"How to {title.lower()}.",
        purpose="<p>Explains the procedure.</p>",
        responsible_role="Officer",
        audience=audience,
        owner_user=owner,
        steps=[("step", {"title": f"Step {i}", "instructions": RichText(f"<p>{s}</p>")}) for i, s in enumerate(steps, 1)],
    )
    page.topics = list(topics)
    for target in implements:
        page.citations.add(Citation(target=target, relation="implements"))
    return _publish(page, parent or section("procedures"), publish, owner)


def lesson(title="Lesson from the audit", *, audience="public", cites=(), publish=True, text="Keep records.", parent=None):
    n = next(_seq)
    page = LessonLearnedPage(
        title=title,
        slug=f"lesson-{n}",
        summary="What we learned.",
        project="Audit 2025",
        event_date=datetime.date(2025, 5, 1),
        context=f"<p>{text}</p>",
        what_happened="<p>Things happened.</p>",
        recommendations="<p>Do better.</p>",
        audience=audience,
    )
    for target in cites:
        page.citations.add(Citation(target=target, relation="derived_from"))
    return _publish(page, parent or section("lessons-learned"), publish)


def policy_form_data(page=None, **overrides):
    """POST data for the admin's policy create/edit form."""
    from wagtail.test.utils.form_data import inline_formset, nested_form_data, streamfield

    data = {
        "title": page.title if page else "A policy",
        "slug": page.slug if page else f"a-policy-{next(_seq)}",
        "summary": page.summary if page else "Summary.",
        "reference_number": page.reference_number if page else f"POL-F-{next(_seq)}",
        "status": page.status if page else "in_force",
        "audience": page.audience if page else "public",
        "legal_basis": "",
        "body": streamfield([]),
        "citations": inline_formset([]),
        "attachments": inline_formset([]),
        "comments": inline_formset([]),
    }
    data.update(overrides)
    return nested_form_data(data)


def procedure_form_data(page, **overrides):
    """POST data for the admin's procedure edit form, from ``page``'s values."""
    from wagtail.test.utils.form_data import inline_formset, nested_form_data, rich_text, streamfield

    steps = [
        ("step", {"title": b.value["title"], "instructions": rich_text(b.value["instructions"].source),
                  "responsible": b.value.get("responsible") or ""})
        for b in page.steps
    ]
    data = {
        "title": page.title,
        "slug": page.slug,
        "summary": page.summary,
        "purpose": rich_text(page.purpose),
        "responsible_role": page.responsible_role,
        "steps": streamfield(steps),
        "audience": page.audience,
        "citations": inline_formset([{"target": c.target_id, "relation": c.relation, "note": c.note}
                                     for c in page.citations.all()]),
        "attachments": inline_formset([]),
        "comments": inline_formset([]),
    }
    material = overrides.pop("material_change", None)
    data.update(overrides)
    data = nested_form_data(data)
    if material:
        data["material_change"] = material
    return data
