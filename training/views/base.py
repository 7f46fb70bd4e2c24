"""What every /learning/ page shows: the sections a visitor may open."""

from django.shortcuts import render

from .. import permissions


def _nav(request):
    user = request.user
    return {
        "is_hr": permissions.is_hr(user),
        "is_manager": permissions.is_manager(user),
        "owns_modules": user.owned_modules.exists() if user.is_authenticated else False,
    }


def render_page(request, template, context, status=200):
    """``render`` with what the navigation needs (which sections to offer)."""
    return render(request, template, {**_nav(request), **context}, status=status)
