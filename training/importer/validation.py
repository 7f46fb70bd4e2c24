"""Checking every row of an import before anything is written: each
validator returns the operations to perform and the errors found."""

import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.utils import timezone

from knowledge.models import OrgUnit
from knowledge.roles import ROLE_GROUPS

from ..models import AssigneeKind, Curriculum, JobProfile, Module
from .files import NO, YES, RowError


def _validate_units(rows):
    errors, ops = [], []
    in_file = {}
    existing = set(OrgUnit.objects.values_list("slug", flat=True))
    for line, row in rows:
        slug = row.get("slug", "")
        if slug in in_file:
            errors.append(RowError(line, "slug", f"{slug!r} already appears on line {in_file[slug]}."))
        in_file.setdefault(slug, line)
    users = set(get_user_model().objects.values_list("username", flat=True))
    parents = {}
    for line, row in rows:
        e = []
        try:
            validate_slug(row["slug"])
        except ValidationError:
            e.append(RowError(line, "slug", f"{row['slug']!r} is not a valid slug (letters, numbers, - and _)."))
        if not row["name"]:
            e.append(RowError(line, "name", "A unit needs a name."))
        parent = row.get("parent", "")
        if parent and parent not in existing and parent not in in_file:
            e.append(RowError(line, "parent", f"No unit {parent!r} in the database or this file."))
        if parent and parent == row["slug"]:
            e.append(RowError(line, "parent", "A unit cannot be its own parent."))
        if row.get("manager") and row["manager"] not in users:
            e.append(RowError(line, "manager", f"No user {row['manager']!r}."))
        parents[row["slug"]] = parent
        errors.extend(e)
        ops.append((line, row))
    for line, row in rows:  # cycles within the file
        seen, slug = set(), row["slug"]
        while slug and slug in parents and slug not in seen:
            seen.add(slug)
            slug = parents[slug]
        if slug and slug in seen:
            errors.append(RowError(line, "parent", f"Parent chain of {row['slug']!r} loops back on itself."))
    return ops, errors


def _validate_users(rows):
    errors, ops = [], []
    usernames = {}
    validator = UnicodeUsernameValidator()
    units = set(OrgUnit.objects.values_list("slug", flat=True))
    profiles = set(JobProfile.objects.values_list("slug", flat=True))
    existing = set(get_user_model().objects.values_list("username", flat=True))
    for line, row in rows:
        usernames.setdefault(row.get("username", ""), line)
    for line, row in rows:
        name = row["username"]
        if usernames.get(name) != line:
            errors.append(RowError(line, "username", f"{name!r} already appears on line {usernames[name]}."))
        try:
            validator(name)
            if not name:
                raise ValidationError("empty")
        except ValidationError:
            errors.append(RowError(line, "username", f"{name!r} is not a valid username."))
        try:
            validate_email(row["email"])
        except ValidationError:
            errors.append(RowError(line, "email", f"{row['email']!r} is not a valid e-mail address."))
        if row.get("unit") and row["unit"] not in units:
            errors.append(RowError(line, "unit", f"No unit {row['unit']!r}; import units first."))
        if row.get("job_profile") and row["job_profile"] not in profiles:
            errors.append(RowError(line, "job_profile", f"No job profile {row['job_profile']!r}."))
        manager = row.get("manager", "")
        if manager and manager not in existing and manager not in usernames:
            errors.append(RowError(line, "manager", f"No user {manager!r} in the database or this file."))
        if manager and manager == name:
            errors.append(RowError(line, "manager", "A person cannot be their own manager."))
        if row.get("role") and row["role"] not in ROLE_GROUPS:
            errors.append(RowError(line, "role", f"Unknown role {row['role']!r}; use {', '.join(ROLE_GROUPS)}."))
        ops.append((line, row))
    return ops, errors


def _validate_assignments(rows):
    errors, ops = [], []
    today = timezone.localdate()
    for line, row in rows:
        e = []
        target = None
        if bool(row.get("curriculum")) == bool(row.get("module")):
            e.append(RowError(line, "curriculum", "Fill in either curriculum or module (one of them)."))
        elif row.get("curriculum"):
            target = Curriculum.objects.filter(slug=row["curriculum"]).first()
            if target is None:
                e.append(RowError(line, "curriculum", f"No curriculum {row['curriculum']!r}."))
        else:
            target = Module.objects.filter(slug=row["module"]).first()
            if target is None:
                e.append(RowError(line, "module", f"No module {row['module']!r}."))
        kind, value, assignee = row["assign_to"], row["assignee"], None
        lookups = {
            AssigneeKind.USER: (get_user_model(), "username"),
            AssigneeKind.GROUP: (Group, "name"),
            AssigneeKind.UNIT: (OrgUnit, "slug"),
            AssigneeKind.JOB_PROFILE: (JobProfile, "slug"),
        }
        if kind not in lookups:
            e.append(RowError(line, "assign_to", f"Unknown assign_to {kind!r}; use {', '.join(lookups)}."))
        else:
            model, attr = lookups[kind]
            assignee = model.objects.filter(**{attr: value}).first()
            if assignee is None:
                e.append(RowError(line, "assignee", f"No {AssigneeKind(kind).label.split(' ', 1)[1]} {value!r}."))
        due = None
        if row.get("due_date"):
            try:
                due = datetime.date.fromisoformat(row["due_date"])
                if due < today:
                    e.append(RowError(line, "due_date", f"{row['due_date']} is in the past."))
            except ValueError:
                e.append(RowError(line, "due_date", f"{row['due_date']!r} is not a date as YYYY-MM-DD."))
        within = None
        if row.get("due_within_days"):
            if not row["due_within_days"].isdigit() or int(row["due_within_days"]) > 3650:
                e.append(RowError(line, "due_within_days", "Give a whole number of days between 0 and 3650."))
            else:
                within = int(row["due_within_days"])
        sub = row.get("include_subunits", "").lower()
        if sub not in YES | NO:
            e.append(RowError(line, "include_subunits", f"{row['include_subunits']!r}: use yes or no."))
        errors.extend(e)
        if not e:
            ops.append((line, {"target": target, "kind": kind, "assignee": assignee, "due": due, "within": within,
                               "subunits": sub in YES or sub == ""}))
    return ops, errors


VALIDATORS = {"units": _validate_units, "users": _validate_users, "assignments": _validate_assignments}
