"""A manager's view of their team and of one learner."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_GET

from .. import learning, permissions
from ..forms import LevelForm
from ..models import AttainedLevel, Certificate, Competence, Enrolment, LevelEvidence
from .base import render_page


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
    return render_page(request, "training/team.html", {"learners": learners[:500]})


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
    return render_page(request, "training/learner_detail.html", {
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
