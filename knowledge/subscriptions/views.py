"""Follow buttons, "My subscriptions", one-click unsubscribe and the public
"what changed" page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..access import user_tokens
from ..models import Delivery, FeedToken, Frequency, GuidanceChange, PageAccessToken, Subscription
from . import diff, follow
from .changes import reader_note
from .mail import user_from_token


def _back(request, fallback="km_subscriptions"):
    target = request.POST.get("next") or request.META.get("HTTP_REFERER", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(fallback)


@require_POST
def follow_view(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.POST.get("next") or "/")
    try:
        sub, created = follow.follow(request.user, request.POST.get("kind", ""), request.POST.get("target", ""),
                                     request.POST.get("frequency") or Frequency.IMMEDIATE)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back(request)
    messages.success(request, f"You now follow {follow.label(sub)}." if created
                     else f"You already follow {follow.label(sub)}.")
    return _back(request)


@require_POST
def unfollow_view(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.POST.get("next") or "/")
    deleted, _ = Subscription.objects.filter(user=request.user, pk=request.POST.get("subscription") or 0).delete()
    if deleted:
        messages.success(request, "You no longer follow that.")
    return _back(request)


@login_required
def subscriptions_view(request):
    mine = Subscription.objects.filter(user=request.user).select_related("page", "topic", "unit", "content_type")
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "unsubscribe_all":
            _unsubscribe_all(request.user.pk)
            messages.success(request, "You no longer follow anything.")
        elif action == "new_feed_token":
            FeedToken.objects.filter(user=request.user).delete()
            FeedToken.objects.create(user=request.user)
            messages.success(request, "Your feed has a new address; the old one no longer works.")
        else:
            sub = get_object_or_404(mine, pk=request.POST.get("subscription") or 0)
            if action == "delete":
                sub.delete()
                messages.success(request, f"You no longer follow {follow.label(sub)}.")
            elif action in ("pause", "resume"):
                sub.paused = action == "pause"
                sub.save(update_fields=["paused"])
            elif action == "frequency" and request.POST.get("frequency") in Frequency.values:
                sub.frequency = request.POST["frequency"]
                sub.save(update_fields=["frequency"])
            else:
                return HttpResponseBadRequest("Unknown action.")
        return redirect("km_subscriptions")
    token = FeedToken.objects.filter(user=request.user).first()
    rows = [(sub, follow.label(sub)) for sub in mine]
    return TemplateResponse(request, "knowledge/subscriptions/my_subscriptions.html", {
        "rows": rows, "frequencies": Frequency.choices, "feed_token": token,
    })


@transaction.atomic
def _unsubscribe_all(user_id):
    Subscription.objects.filter(user_id=user_id).delete()
    Delivery.objects.filter(user_id=user_id, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SUPPRESSED, error="unsubscribed")


@csrf_exempt  # RFC 8058: the mail client's one-click POST carries no CSRF token; the signed token is the proof
def unsubscribe_view(request, token):
    user_id = user_from_token(token)
    if user_id is None:
        return TemplateResponse(request, "knowledge/subscriptions/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        _unsubscribe_all(user_id)
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse("Unsubscribed.", content_type="text/plain")
        return TemplateResponse(request, "knowledge/subscriptions/unsubscribe.html", {"done": True})
    if request.method != "GET":
        return HttpResponse(status=405)
    return TemplateResponse(request, "knowledge/subscriptions/unsubscribe.html", {"token": token})


def viewer_may_see(user, change):
    tokens = user_tokens(user)
    if not PageAccessToken.objects.filter(page_id=change.page_id, token__in=tokens).exists():
        return False
    return change.kind == GuidanceChange.Kind.UNPUBLISHED or change.page.live


def what_changed_view(request, change_id):
    change = GuidanceChange.objects.filter(pk=change_id).select_related("page", "successor", "cause").first()
    if change is None:
        raise Http404
    if not viewer_may_see(request.user, change):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise Http404  # not 403: whether the page exists is itself not for everyone
    shown_change = change.cause if change.kind == GuidanceChange.Kind.AFFECTED and change.cause else change
    lines = []
    if shown_change is change or viewer_may_see(request.user, shown_change):
        lines = diff.compare(shown_change.previous_revision_id, shown_change.revision_id)
    successor = change.successor if change.successor and viewer_may_see_page(request.user, change.successor) else None
    may_see_cause = bool(change.cause_id and viewer_may_see(request.user, change.cause))
    return TemplateResponse(request, "knowledge/subscriptions/what_changed.html", {
        "change": change, "lines": lines, "successor": successor, "note": reader_note(change, may_see_cause),
        "changed": any(op != "same" for op, _ in lines),
    })


def viewer_may_see_page(user, page):
    return page.live and PageAccessToken.objects.filter(page_id=page.pk, token__in=user_tokens(user)).exists()
