"""Loading the training demo in training/demo_content/*.yaml (idempotent).

Needs the knowledge demo (units, users, pages) loaded first: reading
activities point at real demo pages by slug.
"""

import datetime
from pathlib import Path

import yaml
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from knowledge.models import KnowledgePage, OrgUnit

from . import learning
from .assignments import auto_assign_paused, expand_assignment
from .models import (
    Activity,
    ActivityKind,
    AssigneeKind,
    Assignment,
    AttainedLevel,
    Competence,
    CompetenceArea,
    CompetenceEvidenceRule,
    CompetenceLevelDescriptor,
    CompetenceMapping,
    Crosswalk,
    Curriculum,
    Framework,
    JobProfile,
    JobProfileRequirement,
    LevelMapping,
    Module,
    ModuleCompetence,
    ModuleCompletion,
    PageCompetence,
    ProficiencyLevel,
    Question,
    StaffProfile,
)

CONTENT_DIR = Path(__file__).resolve().parent / "demo_content"


class TrainingDemoError(ValueError):
    pass


def read(name):
    with (CONTENT_DIR / name).open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


class _Loader:
    def __init__(self, log):
        self.log = log
        self.users = {u.username: u for u in get_user_model().objects.all()}
        self.competences = {}

    def user(self, username):
        try:
            return self.users[username]
        except KeyError:
            raise TrainingDemoError(f"demo user {username!r} is missing; run load_demo first") from None

    def page(self, slug):
        page = KnowledgePage.objects.filter(slug=slug).first()
        if page is None:
            raise TrainingDemoError(f"demo page {slug!r} is missing; run load_demo first")
        return page

    def competence(self, code):
        try:
            return self.competences[code]
        except KeyError:
            raise TrainingDemoError(f"unknown competence code {code!r} in the training demo") from None

    # --- frameworks ---------------------------------------------------------
    def frameworks(self, data):
        by_slug = {}
        for fw in data["frameworks"]:
            framework, _ = Framework.objects.update_or_create(
                slug=fw["slug"], version=str(fw["version"]),
                defaults={"name": fw["name"], "status": fw["status"], "description": fw["description"].strip(),
                          "published_on": fw["published_on"]},
            )
            by_slug[fw["slug"]] = framework
            for i, lvl in enumerate(fw["levels"]):
                ProficiencyLevel.objects.update_or_create(
                    framework=framework, number=lvl["number"],
                    defaults={"name": lvl["name"], "descriptor": lvl["descriptor"], "sort_order": i},
                )
            for i, a in enumerate(fw["areas"]):
                area, _ = CompetenceArea.objects.update_or_create(
                    framework=framework, code=a["code"],
                    defaults={"name": a["name"], "description": a.get("description", ""), "sort_order": i},
                )
                for c in a["competences"]:
                    competence = Competence.objects.filter(framework=framework, code=c["code"]).first() or Competence(
                        code=c["code"])
                    competence.area, competence.name, competence.description = area, c["name"], c.get("description", "")
                    competence.save()
                    self.competences[c["code"]] = competence
                    for level, text in (c.get("levels") or {}).items():
                        CompetenceLevelDescriptor.objects.update_or_create(
                            competence=competence, level=int(level), defaults={"descriptor": text}
                        )
                    for kind in c.get("evidence") or []:
                        CompetenceEvidenceRule.objects.get_or_create(competence=competence, kind=kind)
        for cw in data["crosswalks"]:
            crosswalk, _ = Crosswalk.objects.update_or_create(
                source=by_slug[cw["source"]], target=by_slug[cw["target"]],
                defaults={"name": cw["name"], "notes": cw.get("notes", "")},
            )
            for s, t in cw["levels"].items():
                LevelMapping.objects.get_or_create(crosswalk=crosswalk, source_level=int(s), defaults={"target_level": t})
            for s, t in cw["competences"].items():
                CompetenceMapping.objects.get_or_create(
                    crosswalk=crosswalk, source_competence=self.competence(s), target_competence=self.competence(t)
                )
        for jp in data["job_profiles"]:
            profile, _ = JobProfile.objects.update_or_create(
                slug=jp["slug"], defaults={"name": jp["name"], "description": jp.get("description", "")}
            )
            for code, level in jp["requires"].items():
                JobProfileRequirement.objects.update_or_create(
                    job_profile=profile, competence=self.competence(code), defaults={"level": level}
                )
        for slug, codes in data["page_competences"].items():
            page = self.page(slug)
            for code in codes:
                PageCompetence.objects.get_or_create(page=page, competence=self.competence(code))
        self.log(f"{len(by_slug)} frameworks, {len(self.competences)} competences, {len(data['job_profiles'])} job profiles")

    # --- curricula ----------------------------------------------------------
    def curricula(self, data):
        modules, prerequisites = {}, []
        for cur in data["curricula"]:
            curriculum, _ = Curriculum.objects.update_or_create(
                slug=cur["slug"],
                defaults={"title": cur["title"], "summary": cur["summary"].strip(), "is_open": cur["is_open"],
                          "certificate_validity_months": cur.get("certificate_validity_months")},
            )
            curriculum.owners.set([self.user(u) for u in cur.get("owners", [])])
            curriculum.save()  # parental many-to-many relations are written on save
            for sort, m in enumerate(cur["modules"]):
                module, _ = Module.objects.update_or_create(
                    slug=m["slug"],
                    defaults={"curriculum": curriculum, "sort_order": sort, "title": m["title"],
                              "summary": m["summary"].strip()},
                )
                module.owners.set([self.user(u) for u in m.get("owners", [])])
                module.save()
                modules[m["slug"]] = module
                prerequisites.append((module, m.get("prerequisites", [])))
                for code, level in m.get("develops", {}).items():
                    ModuleCompetence.objects.update_or_create(
                        module=module, competence=self.competence(code), defaults={"level": level}
                    )
                for pos, a in enumerate(m["activities"]):
                    self.activity(module, pos, a)
        for module, slugs in prerequisites:
            module.prerequisites.set([modules[s] for s in slugs])
            module.save()
        self.log(f"{len(data['curricula'])} curricula, {len(modules)} modules")
        return modules

    def activity(self, module, pos, a):
        kind = a["kind"]
        fields = {
            "kind": kind, "sort_order": pos, "estimated_minutes": a.get("minutes", 10),
            "instructions": a.get("instructions", ""), "pass_mark": a.get("pass_mark", 80),
            "max_attempts": a.get("max_attempts", 3), "url": a.get("url", ""), "location": a.get("location", ""),
            "page": self.page(a["page"]) if a.get("page") else None,
            "trainer": self.user(a["trainer"]) if a.get("trainer") else None,
        }
        if kind == ActivityKind.ATTENDANCE and a.get("session_in_days") is not None:
            start = timezone.localdate() + datetime.timedelta(days=a["session_in_days"])
            fields["session_starts_at"] = timezone.make_aware(datetime.datetime.combine(start, datetime.time(10)))
        activity, created = Activity.objects.get_or_create(module=module, title=a["title"], defaults=fields)
        if not created and kind == ActivityKind.ATTENDANCE:
            fields.pop("session_starts_at", None)  # keep the date HR may have moved
        if not created:
            for k, v in fields.items():
                setattr(activity, k, v)
            activity.save()
        for i, q in enumerate(a.get("questions", [])):
            Question.objects.update_or_create(
                activity=activity, prompt=q["prompt"],
                defaults={"choices": "\n".join(q["choices"]), "explanation": q.get("explanation", ""), "sort_order": i},
            )

    # --- people -------------------------------------------------------------
    def people(self, data, modules):
        units = {u.slug: u for u in OrgUnit.objects.all()}
        profiles = {p.slug: p for p in JobProfile.objects.all()}
        for username, s in data["staff"].items():
            if username not in self.users:
                continue  # a trimmed demo; skip people who are not there
            StaffProfile.objects.update_or_create(
                user=self.user(username),
                defaults={"unit": units.get(s.get("unit")), "job_profile": profiles.get(s.get("job_profile")),
                          "manager": self.users.get(s.get("manager") or "")},
            )
        today = timezone.localdate()
        created = 0
        for a in data["assignments"]:
            kind = a["assign_to"]
            assignee = {
                AssigneeKind.UNIT: lambda v: units[v],
                AssigneeKind.JOB_PROFILE: lambda v: profiles[v],
                AssigneeKind.GROUP: lambda v: Group.objects.get(name=v),
                AssigneeKind.USER: self.user,
            }[kind](a["assignee"])
            target = {"curriculum": Curriculum.objects.get(slug=a["curriculum"])} if a.get("curriculum") else {
                "module": modules[a["module"]]}
            assignment = Assignment.objects.filter(assignee_kind=kind, **{kind: assignee}, **target).first()
            if assignment is None:
                assignment = Assignment.objects.create(
                    assignee_kind=kind, **{kind: assignee}, **target,
                    due_date=today + datetime.timedelta(days=a["due_in_days"]),
                    due_within_days=a.get("due_within_days"), note=a.get("note", ""),
                )
            created += expand_assignment(assignment)
        done = 0
        for username, slugs in data["progress"].items():
            user = self.users.get(username)
            for slug in slugs if user else []:
                if not ModuleCompletion.objects.filter(user=user, module=modules[slug]).exists():
                    complete_demo_module(user, modules[slug])
                    done += 1
        recorded = 0
        for manager_name, people in (data.get("levels") or {}).items():
            manager = self.users.get(manager_name)
            for username, levels in people.items():
                user = self.users.get(username)
                for code, level in levels.items() if user and manager else []:
                    competence = self.competence(code)
                    if not AttainedLevel.objects.filter(user=user, competence=competence).exists():
                        learning.set_level(manager, user, competence, level, "Recorded from the 2025 appraisal")
                        recorded += 1
        self.log(f"{len(data['staff'])} staff profiles, {created} new enrolments, {done} modules completed, "
                 f"{recorded} levels recorded by managers")


def complete_demo_module(user, module):
    """Work through a module as the learner would (used by the demo only)."""
    for activity in module.activities.order_by("sort_order", "pk"):
        if activity.kind in (ActivityKind.READ, ActivityKind.EXTERNAL):
            learning.open_activity(user, activity)
            learning.confirm_activity(user, activity)
        elif activity.kind == ActivityKind.CHECK:
            answers = {q.pk: q.correct_index for q in activity.questions.all()}
            learning.submit_check(user, activity, answers)
        elif activity.kind == ActivityKind.ATTENDANCE:
            learning.mark_attendance(activity.trainer or user, activity, [user])


def load_training_demo(log=lambda msg: None):
    """Create or update the training demo. Safe to run again."""
    with transaction.atomic(), auto_assign_paused():
        loader = _Loader(log)
        loader.frameworks(read("frameworks.yaml"))
        modules = loader.curricula(read("curricula.yaml"))
        loader.people(read("people.yaml"), modules)
