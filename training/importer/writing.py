"""Performing validated operations, inside the import's transaction."""

from django.contrib.auth import get_user_model
from django.utils import timezone

from knowledge.models import OrgUnit
from knowledge.roles import ROLE_GROUPS, ensure_roles

from ..assignments import apply_assignments, expand_assignment
from ..models import Assignment, Curriculum, JobProfile, Module, StaffProfile


def write_units(ops, result, progress):
    pending_parents = []
    for line, row in ops:
        manager = get_user_model().objects.filter(username=row["manager"]).first() if row.get("manager") else None
        unit, created = OrgUnit.objects.update_or_create(
            slug=row["slug"], defaults={"name": row["name"], **({"manager": manager} if manager else {})}
        )
        result.created += created
        result.updated += not created
        pending_parents.append((unit, row.get("parent", "")))
        progress(line)
    for unit, parent in pending_parents:
        unit.parent = OrgUnit.objects.get(slug=parent) if parent else None
        unit.full_clean(exclude=["manager", "content_lead", "slug", "name"])
        unit.save(update_fields=["parent"])


def write_users(ops, result, progress):
    User = get_user_model()
    groups = ensure_roles() if any(row.get("role") for _, row in ops) else {}
    units = {u.slug: u for u in OrgUnit.objects.all()}
    profiles = {p.slug: p for p in JobProfile.objects.all()}
    people = []
    for line, row in ops:
        user = User.objects.filter(username=row["username"]).first()
        created = user is None
        if created:
            user = User(username=row["username"])
            user.set_unusable_password()
        user.email = row["email"]
        user.first_name = row.get("first_name", "") or user.first_name
        user.last_name = row.get("last_name", "") or user.last_name
        user.save()
        if row.get("role"):
            user.groups.add(*[groups[g] for g in ROLE_GROUPS[row["role"]]])
        profile, _ = StaffProfile.objects.get_or_create(user=user)
        if row.get("unit") and profile.unit_id != units[row["unit"]].pk:
            profile.unit, profile.joined_unit_on = units[row["unit"]], timezone.localdate()
        if row.get("job_profile"):
            profile.job_profile = profiles[row["job_profile"]]
        profile.save()
        people.append((user, profile, row.get("manager", "")))
        result.created += created
        result.updated += not created
        progress(line)
    for user, profile, manager in people:
        if manager:
            profile.manager = User.objects.get(username=manager)
            profile.save(update_fields=["manager"])
        result.enrolments += apply_assignments(user)


def write_assignments(ops, result, progress, actor=None):
    for line, op in ops:
        target = op["target"]
        fields = {
            "curriculum": target if isinstance(target, Curriculum) else None,
            "module": target if isinstance(target, Module) else None,
            "assignee_kind": op["kind"],
            op["kind"]: op["assignee"],
            "due_date": op["due"],
            "due_within_days": op["within"],
            "include_subunits": op["subunits"],
        }
        assignment = Assignment.objects.filter(**fields).first()
        if assignment is None:
            assignment = Assignment.objects.create(**fields, created_by=actor, note="Imported from CSV")
            result.created += 1
        else:
            result.updated += 1
        result.enrolments += expand_assignment(assignment)
        progress(line)
