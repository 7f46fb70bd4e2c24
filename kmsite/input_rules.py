"""One rule for what the project accepts as input, before any view reads it.

A NUL character (``\\x00``) is never meaningful in a URL, a query parameter
or a form value, and PostgreSQL text columns cannot hold one: a view that
filtered on it or saved it failed with a 500 (``DataError``). Rather than
guard every view, ``RejectNulBytes`` refuses the request with a 400 naming
the parameter, before any view runs, in the path, in every GET and POST
parameter name and value, and in uploaded file names. Nothing is stripped
silently: what was sent is refused, so nothing half-saved is lost either.
"""

from django.http import HttpResponse, JsonResponse

NUL = "\x00"
MESSAGE = "The request contains a NUL character (%00), which is never valid input."


def _offending(request):
    """The name of the first input that holds a NUL, or None."""
    if NUL in request.path_info or NUL in request.path:
        return "path"
    for name, values in request.GET.lists():
        if NUL in name or any(NUL in v for v in values):
            return name.replace(NUL, "\\0")
    if request.method in ("POST", "PUT", "PATCH"):
        content_type = request.content_type or ""
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for name, values in request.POST.lists():
                if NUL in name or any(NUL in v for v in values):
                    return name.replace(NUL, "\\0")
            for name, files in request.FILES.lists():
                if any(NUL in (f.name or "") for f in files):
                    return name
    return None


class RejectNulBytes:
    """Answer 400 to a request with a NUL byte in any parameter (see module)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            field = _offending(request)
        except UnicodeDecodeError:  # undecodable query string: Django answers it
            field = None
        if field is None:
            return self.get_response(request)
        wants_json = request.path.startswith(("/api/", "/learning/api/", "/admin/api/"))
        if wants_json:
            return JsonResponse({"error": {"message": MESSAGE, "field": field}}, status=400)
        return HttpResponse(f"Bad request: {MESSAGE} (in {field})", status=400, content_type="text/plain; charset=utf-8")
