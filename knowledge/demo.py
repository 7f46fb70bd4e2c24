"""Loading the demo content in knowledge/demo_content/*.yaml."""

import datetime
import html
from pathlib import Path

import yaml
from django.contrib.auth import get_user_model
from django.db import transaction
from wagtail.models import Page, Site
from wagtail.rich_text import RichText

from .models import (
    Citation,
    FreshnessSnapshot,
    HomePage,
    KnowledgePage,
    LessonLearnedPage,
    OrgUnit,
    PolicyPage,
    ProcedurePage,
    SectionIndexPage,
    Topic,
    TopicIndexPage,
)
from .roles import ROLE_GROUPS, ensure_roles

CONTENT_DIR = Path(__import__("os").environ.get("KM_DEMO_CONTENT_DIR") or Path(__file__).resolve().parent / "demo_content")
DEMO_PASSWORD = "govkm-demo"  # noqa: S105 - published demo credentials
SECTIONS = [
    ("policies", "Policies", "What the civil service has decided, with legal status and effective dates.", "policy"),
    ("procedures", "Procedures", "Step-by-step instructions for carrying out policies.", "procedure"),
    ("lessons-learned", "Lessons learned", "What projects and incidents taught us, so nobody has to relearn it.", "lesson"),
]
# Restricted guidance has a section of its own, open to the cleared groups
# only, so that Wagtail's page permissions keep it from Editors (roles.py).
RESTRICTED_SECTION = ("restricted", "Restricted guidance",
                      "Policies, procedures and lessons for cleared groups only.", "restricted")
PAGE_CLASSES = {"policy": PolicyPage, "procedure": ProcedurePage, "lesson": LessonLearnedPage}
# One material change published while the demo loads, so that some pages
# arrive flagged "needs review" (slug, summary, paragraph appended to the body).
MATERIAL_CHANGE = (
    "records-retention-policy",
    "Personnel files are now kept for 7 years after the employee leaves, not 10.",
    "From 1 March 2026 personnel files are kept for seven years after the employee leaves (previously ten). "
    "Files already past seven years are reviewed for disposal in the next annual cycle.",
)


class DemoContentError(ValueError):
    pass


def read(name):
    path = CONTENT_DIR / name
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return data


def load_pages():
    pages = []
    for name in ("policies.yaml", "procedures.yaml", "lessons.yaml"):
        pages.extend(read(name)["pages"])
    slugs = [p["slug"] for p in pages]
    dupes = {s for s in slugs if slugs.count(s) > 1}
    if dupes:
        raise DemoContentError(f"duplicate slugs in demo content: {', '.join(sorted(dupes))}")
    return pages


def _p(text):
    return f"<p>{html.escape(str(text).strip())}</p>"


def _rich(value):
    if isinstance(value, list):
        return RichText("<ul>" + "".join(f"<li>{html.escape(str(v))}</li>" for v in value) + "</ul>")
    return RichText("".join(_p(par) for par in str(value).split("\n\n") if par.strip()))


def _body(blocks):
    out = []
    for block in blocks or []:
        (kind, value), = block.items()
        if kind == "heading":
            out.append(("heading", str(value)))
        elif kind == "paragraph":
            out.append(("paragraph", _rich(value)))
        elif kind == "list":
            out.append(("paragraph", _rich(list(value))))
        else:
            raise DemoContentError(f"unknown body block {kind!r}")
    return out


def _date(value):
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value))


def ensure_site():
    """The home page, its sections, and the default Site pointing at it."""
    home = HomePage.objects.first()
    root = Page.get_first_root_node()
    if home is None:
        home = root.add_child(
            instance=HomePage(
                title="GovKM",
                slug="govkm-home",
                introduction="Policies, procedures and lessons learned for the civil service, kept current by their owners.",
            )
        )
        site = Site.objects.filter(is_default_site=True).first()
        old_root = site.root_page if site else None
        if site:
            site.root_page = home
            site.site_name = "GovKM"
            site.save()
        else:
            Site.objects.create(hostname="localhost", port=80, root_page=home, is_default_site=True, site_name="GovKM")
        if old_root and old_root.pk != home.pk and not isinstance(old_root.specific, HomePage):
            old_root.delete()
        home.save_revision().publish()
    sections = {}
    for slug, title, intro, kind in SECTIONS:
        section = SectionIndexPage.objects.child_of(home).filter(slug=slug).first()
        if section is None:
            section = home.add_child(instance=SectionIndexPage(title=title, slug=slug, introduction=intro))
            section.save_revision().publish()
        sections[kind] = section
    sections["restricted"] = ensure_restricted_section(home)
    if not TopicIndexPage.objects.exists():
        topics = home.add_child(instance=TopicIndexPage(title="Topics", slug="topics", introduction="Browse guidance by subject."))
        topics.save_revision().publish()
    return home, sections


def ensure_restricted_section(home):
    """The section holding restricted guidance, with a view restriction to
    the groups cleared for it (access.restricted_groups)."""
    from wagtail.models import PageViewRestriction

    from .access import restricted_groups

    slug, title, intro, _kind = RESTRICTED_SECTION
    section = SectionIndexPage.objects.child_of(home).filter(slug=slug).first()
    if section is None:
        section = home.add_child(instance=SectionIndexPage(title=title, slug=slug, introduction=intro))
        section.save_revision().publish()
    restriction = PageViewRestriction.objects.filter(page=section, restriction_type=PageViewRestriction.GROUPS).first()
    if restriction is None:
        restriction = PageViewRestriction.objects.create(page=section, restriction_type=PageViewRestriction.GROUPS)
    restriction.groups.add(*restricted_groups())
    return section


@transaction.atomic
def load_taxonomy_and_users(log=lambda msg: None):
    User = get_user_model()
    topics = {}
    for t in read("topics.yaml")["topics"]:
        topics[t["slug"]], _ = Topic.objects.update_or_create(
            slug=t["slug"], defaults={"name": t["name"], "description": t.get("description", "")}
        )
    units_data = read("units.yaml")["units"]
    units = {}
    for u in units_data:
        units[u["slug"]], _ = OrgUnit.objects.update_or_create(slug=u["slug"], defaults={"name": u["name"]})
    for u in units_data:
        if u.get("parent"):
            units[u["slug"]].parent = units[u["parent"]]
            units[u["slug"]].save(update_fields=["parent"])
    groups = ensure_roles()
    users = {}
    for u in read("users.yaml")["users"]:
        user = User.objects.filter(username=u["username"]).first()
        if user is None:
            user = User(username=u["username"])
            user.set_password(DEMO_PASSWORD)
        user.first_name, user.last_name, user.email = u["first_name"], u["last_name"], u["email"]
        user.is_superuser = user.is_staff = u["role"] == "administrator"
        user.save()
        user.groups.add(*[groups[g] for g in ROLE_GROUPS[u["role"]]])
        users[u["username"]] = user
    for u in units_data:
        unit = units[u["slug"]]
        unit.manager = users.get(u.get("manager") or "")
        unit.content_lead = users.get(u.get("content_lead") or "")
        unit.save(update_fields=["manager", "content_lead"])
    log(f"{len(topics)} topics, {len(units)} units, {len(users)} users")
    return topics, units, users


def _fill(page, data, topics, units, users):
    page.title = data["title"]
    page.slug = data["slug"]
    page.summary = data["summary"]
    page.unit = units.get(data.get("unit"))
    page.owner_user = users.get(data.get("owner"))
    page.audience = data.get("audience", "internal")
    page.review_interval_months = data.get("review_interval_months")
    page.last_reviewed_at = _date(data.get("last_reviewed"))
    kind = data["type"]
    if kind == "policy":
        page.reference_number = data["reference"]
        page.status = data.get("status", "in_force")
        page.effective_date = _date(data.get("effective_date"))
        page.legal_basis = data.get("legal_basis", "")
        page.body = _body(data.get("body"))
    elif kind == "procedure":
        page.purpose = _rich(data["purpose"]).source
        page.responsible_role = data["responsible_role"]
        page.steps = [
            ("step", {"title": s["title"], "instructions": _rich(s["instructions"]), "responsible": s.get("responsible", "")})
            for s in data["steps"]
        ]
    elif kind == "lesson":
        page.project = data["project"]
        page.event_date = _date(data["event_date"])
        for field in ("context", "what_happened", "what_worked", "what_did_not", "recommendations"):
            setattr(page, field, _rich(data.get(field, "")).source)
    else:
        raise DemoContentError(f"unknown page type {kind!r} for {data['slug']}")


def load_demo(log=lambda msg: None, progress=None):
    """Create whatever part of the demo is missing. Returns (created, present)."""
    topics, units, users = load_taxonomy_and_users(log)
    pages = load_pages()
    created, present = 0, 0
    with transaction.atomic():
        home, sections = ensure_site()
        ensure_roles(home.get_parent())
        by_slug = {}
        new = []
        for data in pages:
            restricted = data.get("audience") == "restricted"
            section = sections["restricted" if restricted else data["type"]]
            # wherever an earlier version of the demo put it
            existing = KnowledgePage.objects.descendant_of(home).filter(slug=data["slug"]).first()
            if existing is not None:
                by_slug[data["slug"]] = existing.specific
                present += 1
                continue
            page = PAGE_CLASSES[data["type"]]()
            _fill(page, data, topics, units, users)
            page.live = False
            section.add_child(instance=page)
            page.topics.set([topics[t] for t in data.get("topics", [])])
            by_slug[data["slug"]] = page
            new.append((page, data))
        for page, data in new:
            for i, cite in enumerate(data.get("cites") or []):
                target = by_slug.get(cite["page"])
                if target is None:
                    raise DemoContentError(f"{data['slug']} cites unknown page {cite['page']!r}")
                page.citations.add(Citation(target=target, relation=cite.get("relation", "references"), sort_order=i))
            if data.get("supersedes"):
                page.supersedes = by_slug[data["supersedes"]]
            amendment = data.get("proposes_amendment")
            if amendment:
                if amendment["page"] not in by_slug:
                    raise DemoContentError(f"{data['slug']} proposes an amendment to unknown page {amendment['page']!r}")
                page.amendment_target = by_slug[amendment["page"]]
                page.proposed_amendment = str(amendment["text"]).strip()
        for page, _data in new:
            page.save_revision(user=page.owner_user, log_action=True).publish(user=page.owner_user)
            created += 1
            if progress:
                progress()
        if new:
            publish_material_change(by_slug, log)
    if new:
        run_demo_sweep(log)
    return created, present


def publish_material_change(by_slug, log=lambda msg: None):
    """Republish one demo page with "material change" ticked, as an editor would."""
    slug, summary, paragraph = MATERIAL_CHANGE
    page = by_slug.get(slug)
    if page is None:
        return None
    page = page.specific.get_latest_revision_as_object()
    page.body.append(("paragraph", RichText(_p(paragraph))))
    page.material_change, page.change_summary = True, summary
    page.save_revision(user=page.owner_user, log_action=True).publish(user=page.owner_user)
    log(f"Published a material change to {page.title}: its citing pages are flagged for review")
    return page


def run_demo_sweep(log=lambda msg: None):
    """Compute freshness, open review tasks and write the digests. Demo
    notifications stay in the admin; they are marked as not e-mailed."""
    from django.utils import timezone

    from .models import GuidanceChange, Notification
    from .sweep import run_sweep

    summary = run_sweep(send_email=False)
    Notification.objects.filter(emailed_at__isnull=True).update(
        emailed_at=timezone.now(), email_error="demo data: not e-mailed"
    )
    # the demo's own publications happened before anyone followed anything: left
    # un-fanned-out, the notification sweep told the first follower of a topic of
    # every demo page in it as "new" (seen in tests/e2e/test_journeys_follow.py)
    GuidanceChange.objects.filter(fanned_out=False).update(fanned_out=True)
    states = ", ".join(f"{k} {v}" for k, v in summary.states.items() if v)
    log(f"Freshness: {states}")
    return summary


@transaction.atomic
def reset_demo():
    """Remove the knowledge pages, taxonomy and demo users (not superusers
    created outside the demo). The search index is search's to clear
    (``search.indexing.forget_index``; the ``load_demo`` command does both)."""

    home = HomePage.objects.first()
    if home is not None:
        for child in home.get_children():
            child.delete()
    Topic.objects.all().delete()
    OrgUnit.objects.update(parent=None)
    OrgUnit.objects.all().delete()
    usernames = [u["username"] for u in read("users.yaml")["users"]]
    get_user_model().objects.filter(username__in=usernames).delete()
    FreshnessSnapshot.objects.all().delete()
