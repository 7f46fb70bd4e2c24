"""Bulk import of units, users and assignments from CSV.

Every row is validated first and errors are reported by line number; if any
row is invalid nothing is written. Valid files are written in a single
transaction, so a database error half way leaves nothing behind either. A
dry run goes one step further: it performs the writes and rolls them back,
so it also catches what only the database would refuse.
"""

import csv
import datetime
import io
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import DatabaseError, transaction
from django.utils import timezone

from knowledge.models import OrgUnit
from knowledge.roles import ROLE_GROUPS, ensure_roles

from .assignments import apply_assignments, auto_assign_paused, expand_assignment
from .models import AssigneeKind, Assignment, Curriculum, JobProfile, Module, StaffProfile

KINDS = {
    "units": {"required": ["slug", "name"], "optional": ["parent", "manager"]},
    "users": {
        "required": ["username", "email"],
        "optional": ["first_name", "last_name", "unit", "job_profile", "manager", "role"],
    },
    "assignments": {
        "required": ["assign_to", "assignee"],
        "optional": ["curriculum", "module", "due_date", "due_within_days", "include_subunits"],
    },
}
YES, NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0", ""}
MAX_BYTES = 10 * 1024 * 1024


class _DryRunRollback(Exception):
    pass


@dataclass
class RowError:
    line: int
    column: str
    message: str

    def __str__(self):
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"

    def as_dict(self):
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass
class ImportResult:
    kind: str
    dry_run: bool
    rows: int = 0
    errors: list = field(default_factory=list)
    created: int = 0
    updated: int = 0
    enrolments: int = 0

    @property
    def ok(self):
        return not self.errors

    def summary(self):
        verb = "would be" if self.dry_run else "were"
        if not self.ok:
            return f"{len(self.errors)} error(s) in {self.rows} row(s); nothing was written."
        return (f"{self.rows} row(s) valid: {self.created} created and {self.updated} updated "
                f"{verb} written, {self.enrolments} enrolment(s).")


class ImportFileError(ValueError):
    pass


def read_rows(text, kind):
    """(line number, row dict) pairs, after checking the header."""
    if kind not in KINDS:
        raise ImportFileError(f"Unknown import kind {kind!r}; use one of {', '.join(KINDS)}.")
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    spec = KINDS[kind]
    missing = [c for c in spec["required"] if c not in header]
    unknown = [c for c in header if c not in spec["required"] + spec["optional"]]
    if not header:
        raise ImportFileError("The file is empty: the first line must name the columns.")
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        allowed = ", ".join(spec["required"] + spec["optional"])
        raise ImportFileError(f"Line 1: {'; '.join(parts)}. Columns for {kind}: {allowed}.")
    reader.fieldnames = header
    rows = []
    for row in reader:
        if None in row:
            rows.append((reader.line_num, {"__extra__": row.pop(None)}))
            continue
        rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items()}))
    return rows


# --- validation: each returns (operation, errors) --------------------------------
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


# --- writing ---------------------------------------------------------------------
def _write_units(ops, result, progress):
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


def _write_users(ops, result, progress):
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


def _write_assignments(ops, result, progress, actor=None):
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


def run_import(kind, text, *, dry_run=True, actor=None, progress=None):
    """Validate (and unless ``dry_run``, write) one CSV file of ``kind``."""
    result = ImportResult(kind=kind, dry_run=dry_run)
    try:
        rows = read_rows(text, kind)
    except ImportFileError as exc:
        result.errors.append(RowError(1, "", str(exc)))
        return result
    except csv.Error as exc:
        result.errors.append(RowError(1, "", f"The file is not valid CSV: {exc}"))
        return result
    result.rows = len(rows)
    for line, row in rows:
        if "__extra__" in row:
            result.errors.append(RowError(line, "", "This row has more values than the header has columns."))
    if result.errors:
        return result
    ops, errors = VALIDATORS[kind](rows)
    result.errors = sorted(errors, key=lambda e: e.line)
    if result.errors:
        return result
    tick = progress or (lambda line: None)
    try:
        with transaction.atomic(), auto_assign_paused():
            if kind == "units":
                _write_units(ops, result, tick)
            elif kind == "users":
                _write_users(ops, result, tick)
            else:
                _write_assignments(ops, result, tick, actor)
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    except (DatabaseError, ValidationError) as exc:
        result.errors.append(RowError(0, "", f"The database refused the import, so nothing was written: {exc}"))
        result.created = result.updated = result.enrolments = 0
    return result


def decode_upload(data):
    if len(data) > MAX_BYTES:
        raise ImportFileError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it.")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError("The file is neither UTF-8 nor Windows-1252 text.")


def progress_key(job_id):
    return f"training:import:{job_id}:progress"


def run_job(job_id):
    """Run an ``ImportJob`` (from the admin), publishing progress in the cache."""
    from django.core.cache import cache

    from .models import ImportJob, ImportStatus

    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.status not in (ImportStatus.QUEUED,):
        return None
    job.status = ImportStatus.RUNNING
    job.save(update_fields=["status"])
    done = [0]

    def tick(line):
        done[0] += 1
        if done[0] % 50 == 0:
            cache.set(progress_key(job.pk), done[0], 3600)

    result = run_import(job.kind, job.content, dry_run=job.dry_run, actor=job.uploaded_by, progress=tick)
    cache.set(progress_key(job.pk), done[0], 3600)
    job.total_rows = result.rows
    job.errors = [e.as_dict() for e in result.errors]
    job.summary = {"text": result.summary(), "created": result.created, "updated": result.updated,
                   "enrolments": result.enrolments}
    if not result.ok:
        job.status = ImportStatus.INVALID if any(e.line for e in result.errors) else ImportStatus.FAILED
    else:
        job.status = ImportStatus.VALID if job.dry_run else ImportStatus.DONE
    job.finished_at = timezone.now()
    job.save()
    return job.status
