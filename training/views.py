"""Learner, trainer, manager and HR pages under /learning/, and the JSON API."""

import functools

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from knowledge.access import user_can_view_page

from . import exports, learning, permissions, refresh, reports
from .certificates import render_pdf
from .forms import KnowledgeCheckForm, LevelForm, ReportFilterForm
from .models import (
    Activity,
    ActivityKind,
    ActivityProgress,
    AttainedLevel,
    Certificate,
    CheckAttempt,
    Competence,
    Curriculum,
    Enrolment,
    EnrolmentKind,
    LevelEvidence,
    Module,
    ProgressStatus,
)

SECTIONS = [
    ("overdue", learning.Status.OVERDUE),
    ("due_soon", learning.Status.DUE_SOON),
    ("in_progress", learning.Status.IN_PROGRESS),
    ("assigned", learning.Status.ASSIGNED),
    ("completed", learning.Status.COMPLETED),
]


def _nav(request):
    user = request.user
    return {
        "is_hr": permissions.is_hr(user),
        "is_manager": permissions.is_manager(user),
        "owns_modules": user.owned_modules.exists() if user.is_authenticated else False,
    }


def _render(request, template, context, status=200):
    return render(request, template, {**_nav(request), **context}, status=status)


# --- learners ----------------------------------------------------------------
@login_required
@require_GET
def my_learning(request):
    enrolments = list(
        Enrolment.objects.filter(user=request.user)
        .select_related("curriculum", "module", "refresher_page")
        .order_by("due_date", "created_at")
    )
    progress = learning.enrolment_progress(request.user, enrolments)
    today = timezone.localdate()
    grouped = {key: [] for key, _ in SECTIONS}
    for e in enrolments:
        status = learning.status_of(e, today)
        grouped[status].append({"enrolment": e, "status": status, "label": learning.Status.LABELS[status],
                                "progress": progress[e.pk]})
    grouped["completed"].sort(key=lambda r: r["enrolment"].completed_at, reverse=True)
    sections = [
        {"key": key, "title": learning.Status.LABELS[key], "items": grouped[key]} for key, _ in SECTIONS
    ]
    return _render(request, "training/my_learning.html", {
        "sections": sections,
        "counts": {key: len(items) for key, items in grouped.items()},
        "certificates": Certificate.objects.filter(user=request.user).select_related("curriculum")[:20],
        "levels": AttainedLevel.objects.filter(user=request.user).select_related("competence__framework")
        .order_by("competence__code"),
        "open_curricula": Curriculum.objects.filter(is_open=True, live=True).exclude(
            enrolments__user=request.user, enrolments__completed_at__isnull=True
        )[:5],
        "today": today,
    })


@login_required
@require_GET
def catalogue(request):
    curricula = Curriculum.objects.filter(live=True).annotate(module_count=Count("modules")).order_by("title")
    active = set(
        Enrolment.objects.filter(user=request.user, completed_at__isnull=True, curriculum__isnull=False)
        .values_list("curriculum_id", flat=True)
    )
    return _render(request, "training/catalogue.html", {"curricula": curricula, "active": active})


@login_required
@require_POST
def enrol(request, slug):
    curriculum = get_object_or_404(Curriculum, slug=slug, live=True)
    try:
        learning.enrol_self(request.user, curriculum)
    except learning.LearningError as exc:
        messages.error(request, str(exc))
        return redirect("training:catalogue")
    messages.success(request, f"You are enrolled in {curriculum.title}.")
    return redirect("training:curriculum", slug=slug)


def _module_rows(user, modules):
    done_modules = learning.completed_module_ids(user)
    progress = {
        p.activity_id: p
        for p in ActivityProgress.objects.filter(user=user, activity__module__in=modules)
    }
    rows = []
    for m in modules:
        activities = list(m.activities.all())
        done = sum(1 for a in activities if getattr(progress.get(a.pk), "status", None) == ProgressStatus.COMPLETED)
        missing = [p for p in m.prerequisites.all() if p.pk not in done_modules]
        rows.append({"module": m, "done": done, "total": len(activities), "completed": m.pk in done_modules,
                     "locked_by": missing,
                     "percent": round(100 * done / len(activities)) if activities else 0})
    return rows


@login_required
@require_GET
def curriculum_detail(request, slug):
    curriculum = get_object_or_404(Curriculum, slug=slug, live=True)
    modules = list(curriculum.ordered_modules().prefetch_related("activities", "prerequisites", "owners"))
    enrolment = Enrolment.objects.filter(user=request.user, curriculum=curriculum).order_by("-created_at").first()
    return _render(request, "training/curriculum_detail.html", {
        "curriculum": curriculum, "rows": _module_rows(request.user, modules), "enrolment": enrolment,
        "certificate": Certificate.objects.filter(user=request.user, curriculum=curriculum).first(),
    })


@login_required
@require_GET
def module_detail(request, slug):
    module = get_object_or_404(Module.objects.select_related("curriculum"), slug=slug)
    activities = list(module.activities.select_related("page", "trainer"))
    progress = {p.activity_id: p for p in ActivityProgress.objects.filter(user=request.user, activity__in=activities)}
    rows = [{"activity": a, "progress": progress.get(a.pk),
             "readable": a.page is None or user_can_view_page(request.user, a.page),
             "can_mark": a.kind == ActivityKind.ATTENDANCE and permissions.can_mark_attendance(request.user, a)}
            for a in activities]
    return _render(request, "training/module_detail.html", {
        "module": module, "rows": rows,
        "missing": learning.missing_prerequisites(request.user, module),
        "completed": module.completions.filter(user=request.user).first(),
        "competences": module.competences.select_related("competence"),
        "is_owner": module.owners.filter(pk=request.user.pk).exists(),
    })


@login_required
@require_GET
def activity_open(request, pk):
    activity = get_object_or_404(Activity.objects.select_related("module", "page"), pk=pk)
    if activity.kind not in (ActivityKind.READ, ActivityKind.EXTERNAL):
        raise Http404("Nothing to open for this activity.")
    if activity.kind == ActivityKind.READ and (activity.page is None or not user_can_view_page(request.user, activity.page)):
        messages.error(request, "You cannot view the page this activity uses. Ask the module owner.")
        return redirect("training:module", slug=activity.module.slug)
    try:
        learning.open_activity(request.user, activity)
    except learning.LearningError as exc:
        messages.error(request, str(exc))
        return redirect("training:module", slug=activity.module.slug)
    target = activity.page.url if activity.kind == ActivityKind.READ else activity.url
    return HttpResponseRedirect(target)


@login_required
@require_POST
def activity_confirm(request, pk):
    activity = get_object_or_404(Activity.objects.select_related("module"), pk=pk)
    try:
        learning.confirm_activity(request.user, activity)
        messages.success(request, f"Marked “{activity.title}” as done.")
    except learning.LearningError as exc:
        messages.error(request, str(exc))
    return redirect("training:module", slug=activity.module.slug)


@login_required
def knowledge_check(request, pk):
    activity = get_object_or_404(Activity.objects.select_related("module"), pk=pk, kind=ActivityKind.CHECK)
    form = KnowledgeCheckForm(activity, request.POST if request.method == "POST" else None)
    attempt, error = None, ""
    if request.method == "POST" and form.is_valid():
        try:
            attempt = learning.submit_check(request.user, activity, form.answers())
        except learning.LearningError as exc:
            error = str(exc)
    elif request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    progress = ActivityProgress.objects.filter(user=request.user, activity=activity).first()
    review = []
    if attempt:
        for q in form.questions:
            chosen = attempt.answers.get(str(q.pk))
            review.append({"question": q, "choices": q.parsed_choices(), "chosen": chosen,
                           "right": chosen == q.correct_index})
    return _render(request, "training/knowledge_check.html", {
        "activity": activity, "form": form, "attempt": attempt, "error": error, "progress": progress,
        "attempts_left": learning.attempts_left(request.user, activity), "review": review,
        "history": CheckAttempt.objects.filter(user=request.user, activity=activity),
        "missing": learning.missing_prerequisites(request.user, activity.module),
    }, status=400 if (error or (request.method == "POST" and not form.is_valid())) else 200)


@login_required
def attendance(request, pk):
    activity = get_object_or_404(Activity.objects.select_related("module"), pk=pk, kind=ActivityKind.ATTENDANCE)
    if not permissions.can_mark_attendance(request.user, activity):
        raise PermissionDenied
    module = activity.module
    User = get_user_model()
    learners = User.objects.filter(
        Q(training_enrolments__module=module) | Q(training_enrolments__curriculum_id=module.curriculum_id,
                                                  training_enrolments__curriculum__isnull=False),
        is_active=True,
    ).distinct().order_by("last_name", "username")
    if request.method == "POST":
        ids = [int(v) for v in request.POST.getlist("present") if v.isdigit()]
        chosen = learners.filter(pk__in=ids)
        if len(set(ids)) != chosen.count():
            messages.error(request, "Some of the people marked are not enrolled in this module; nothing was saved.")
        else:
            n = learning.mark_attendance(request.user, activity, list(chosen))
            messages.success(request, f"Attendance recorded for {n} learner(s).")
            return redirect("training:attendance", pk=pk)
    done = {p.user_id: p for p in ActivityProgress.objects.filter(activity=activity, status=ProgressStatus.COMPLETED)}
    return _render(request, "training/attendance.html", {
        "activity": activity, "rows": [{"user": u, "progress": done.get(u.pk)} for u in learners],
    })


def _certificate_for(request, code):
    cert = get_object_or_404(Certificate.objects.select_related("user", "curriculum"), code=code)
    if not permissions.can_view_learner(request.user, cert.user):
        raise Http404
    return cert


@login_required
@require_GET
def certificate(request, code):
    cert = _certificate_for(request, code)
    return _render(request, "training/certificate.html", {"certificate": cert, "valid": cert.is_valid()})


@login_required
@require_GET
def certificate_pdf(request, code):
    cert = _certificate_for(request, code)
    response = HttpResponse(render_pdf(cert), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="certificate-{cert.curriculum.slug}.pdf"'
    return response


def _own_refresher(request, pk):
    return get_object_or_404(
        Enrolment.objects.select_related("module", "refresher_page"), pk=pk, user=request.user,
        kind=EnrolmentKind.REFRESHER,
    )


@login_required
@require_GET
def refresher(request, pk):
    return _render(request, "training/refresher.html", {"enrolment": _own_refresher(request, pk)})


@login_required
@require_GET
def refresher_open(request, pk):
    enrolment = _own_refresher(request, pk)
    page = enrolment.refresher_page
    if page is None or not user_can_view_page(request.user, page):
        messages.error(request, "The changed page is no longer available to you.")
        return redirect("training:refresher", pk=pk)
    learning.open_refresher(request.user, enrolment)
    return HttpResponseRedirect(page.url)


@login_required
@require_POST
def refresher_confirm(request, pk):
    enrolment = _own_refresher(request, pk)
    try:
        learning.confirm_refresher(request.user, enrolment)
        messages.success(request, "Refresher completed.")
        return redirect("training:my_learning")
    except learning.LearningError as exc:
        messages.error(request, str(exc))
        return redirect("training:refresher", pk=pk)


# --- module owners -----------------------------------------------------------
@login_required
@require_GET
def review_queue(request):
    modules = Module.objects.filter(owners=request.user) if not permissions.is_hr(request.user) else Module.objects.all()
    flagged = modules.filter(needs_review=True).prefetch_related("review_requests__page")
    return _render(request, "training/review_queue.html", {
        "modules": [{"module": m, "requests": [r for r in m.review_requests.all() if r.resolved_at is None]}
                    for m in flagged],
    })


@login_required
@require_POST
def review_resolve(request, slug):
    module = get_object_or_404(Module, slug=slug)
    if not (permissions.is_hr(request.user) or module.owners.filter(pk=request.user.pk).exists()):
        raise PermissionDenied
    refresh.resolve_review(module, request.user)
    messages.success(request, f"“{module.title}” marked as reviewed.")
    return redirect("training:review_queue")


# --- managers ------------------------------------------------------------------
@login_required
@require_GET
def team(request):
    if not permissions.can_view_reports(request.user):
        raise PermissionDenied
    today = timezone.localdate()
    learners = (
        permissions.visible_learners(request.user).exclude(pk=request.user.pk).filter(is_active=True)
        .select_related("staff_profile__unit", "staff_profile__job_profile")
        .annotate(
            enrolled=Count("training_enrolments", distinct=True),
            done=Count("training_enrolments", filter=Q(training_enrolments__completed_at__isnull=False), distinct=True),
            overdue=Count("training_enrolments", filter=Q(training_enrolments__completed_at__isnull=True,
                                                          training_enrolments__due_date__lt=today), distinct=True),
            last_activity=Max("activity_progress__updated_at"),
        )
        .order_by("staff_profile__unit__name", "last_name", "username")
    )
    return _render(request, "training/team.html", {"learners": learners[:500]})


@login_required
def learner_detail(request, username):
    learner = get_object_or_404(get_user_model(), username=username)
    if not permissions.can_view_learner(request.user, learner):
        raise Http404
    can_manage = permissions.can_manage_learner(request.user, learner)
    form = LevelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            competence = get_object_or_404(Competence, pk=form.cleaned_data["competence"])
            level = form.cleaned_data["level"] if form.cleaned_data["action"] == "adjust" else None
            try:
                learning.set_level(request.user, learner, competence, level, form.cleaned_data["comment"] or "")
                messages.success(request, f"{competence.code}: level recorded.")
                return redirect("training:learner", username=username)
            except learning.LearningError as exc:
                messages.error(request, str(exc))
        else:
            messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
    profile = getattr(learner, "staff_profile", None)
    levels = {a.competence_id: a for a in AttainedLevel.objects.filter(user=learner).select_related("validated_by")}
    required = {}
    if profile and profile.job_profile_id:
        required = {r.competence_id: r.level for r in profile.job_profile.requirements.all()}
    competences = Competence.objects.filter(pk__in=set(levels) | set(required)).select_related("framework")
    enrolments = list(Enrolment.objects.filter(user=learner).select_related("curriculum", "module"))
    progress = learning.enrolment_progress(learner, enrolments)
    return _render(request, "training/learner_detail.html", {
        "learner": learner, "profile": profile, "can_manage": can_manage,
        "rows": [{"competence": c, "attained": levels.get(c.pk), "required": required.get(c.pk),
                  "gap": max(0, required.get(c.pk, 0) - getattr(levels.get(c.pk), "level", 0)),
                  "levels": range(0, c.framework.max_level + 1)} for c in competences],
        "evidence": LevelEvidence.objects.filter(user=learner).select_related("competence", "module", "page",
                                                                              "recorded_by")[:50],
        "enrolments": [{"enrolment": e, "progress": progress[e.pk], "status": learning.status_of(e),
                        "label": learning.Status.LABELS[learning.status_of(e)]} for e in enrolments],
        "certificates": Certificate.objects.filter(user=learner).select_related("curriculum"),
    })


# --- HR reports ----------------------------------------------------------------
def _report_inputs(request):
    if not permissions.can_view_reports(request.user):
        raise PermissionDenied
    return reports.parse_filters(request.GET), permissions.report_scope(request.user)


@login_required
@require_GET
def report_page(request):
    if not permissions.can_view_reports(request.user):
        raise PermissionDenied
    form = ReportFilterForm(request.GET or None)
    try:
        params = {k: v for k, v in request.GET.items() if v}
        filters = reports.parse_filters(params)
    except reports.ReportFilterError as exc:
        return _render(request, "training/reports.html", {"form": form, "error": str(exc)}, status=400)
    scope = permissions.report_scope(request.user)
    gap = reports.gap_report(filters, scope)
    return _render(request, "training/reports.html", {
        "form": form, "filters": filters, "completion": reports.completion_report(filters, scope),
        "gap": gap, "heatmap": reports.heatmap(gap), "query": request.GET.urlencode(),
        "scoped": scope is not None,
    })


@login_required
@require_GET
def report_export(request):
    params = {k: v for k, v in request.GET.items() if v}
    fmt, which = params.pop("format", "csv"), params.pop("report", "gap")
    if fmt not in ("csv", "xlsx") or which not in ("gap", "completion"):
        return HttpResponse("Use format=csv or xlsx and report=gap or completion.", status=400,
                            content_type="text/plain")
    if not permissions.can_view_reports(request.user):
        raise PermissionDenied
    try:
        filters = reports.parse_filters(params)
    except reports.ReportFilterError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    scope = permissions.report_scope(request.user)
    stamp = timezone.localdate().isoformat()
    if fmt == "xlsx":
        data = exports.workbook(reports.completion_report(filters, scope), reports.gap_report(filters, scope), filters)
        response = HttpResponse(data, content_type=exports.XLSX_TYPE)
        response["Content-Disposition"] = f'attachment; filename="training-report-{stamp}.xlsx"'
        return response
    if which == "gap":
        body = exports.gap_csv(reports.gap_report(filters, scope))
    else:
        body = exports.completion_csv(reports.completion_report(filters, scope))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="training-{which}-{stamp}.csv"'
    return response


def _api_guard(request):
    if not request.user.is_authenticated:
        return JsonResponse({"error": {"message": "Sign in first.", "field": None}}, status=401)
    if not permissions.can_view_reports(request.user):
        return JsonResponse({"error": {"message": "HR or manager access is required.", "field": None}}, status=403)
    return None


def _report_api(build):
    """A JSON report view: signed-in HR or managers only, filters parsed
    from the query string (400 naming the field), the body from
    ``build(filters, scope)`` after the filters and the time it was made."""

    @require_GET
    @functools.wraps(build)
    def view(request):
        denied = _api_guard(request)
        if denied:
            return denied
        try:
            filters = reports.parse_filters({k: v for k, v in request.GET.items() if v})
        except reports.ReportFilterError as exc:
            return JsonResponse({"error": {"message": str(exc), "field": exc.field}}, status=400)
        body = build(filters, permissions.report_scope(request.user))
        return JsonResponse({"filters": filters.as_dict(), "generated_at": timezone.now().isoformat(), **body})

    return view


@_report_api
def api_gap_report(filters, scope):
    return reports.gap_report(filters, scope).as_dict()


@_report_api
def api_completion_report(filters, scope):
    data = reports.completion_report(filters, scope)
    return {
        "overall": data["overall"],
        "by_unit": [{**{k: v for k, v in r.items() if k != "unit"}, "unit": r["unit"].slug if r["unit"] else None}
                    for r in data["by_unit"]],
        "by_target": [{**{k: v for k, v in r.items() if k != "target"},
                       "target": r["target"].slug if r["target"] else None} for r in data["by_target"]],
    }

