"""A search request as the service takes it: the query normalised and its
parameters validated, or a ``SearchError`` whose message is shown to the
user. The views, the API and the evaluation parse through ``parse_request``;
``openapi.py`` states the same rules in the schema."""

import dataclasses
import re

from .indexing import CONTENT_TYPES

MODES = ("hybrid", "lexical", "semantic")
MAX_QUERY_CHARS = 1000
MAX_PAGE = 500
PER_PAGE = 10
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
FILTER_PARAMS = {
    "type": "content_type",
    "topic": "topics",
    "unit": "units",
    "status": "status",
    "audience": "audience",
    "freshness": "freshness",
}
CHOICES = {
    "content_type": set(CONTENT_TYPES.values()),
    "status": {"current", "draft", "in_force", "superseded", "rescinded"},
    "audience": {"public", "internal", "restricted"},
    "freshness": {"fresh", "due_soon", "overdue", "needs_review", "superseded", "rescinded"},
}


class SearchError(ValueError):
    """A request that cannot be answered; the message is shown to the user."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


@dataclasses.dataclass
class SearchRequest:
    q: str
    mode: str = "hybrid"
    filters: dict = dataclasses.field(default_factory=dict)  # backend field -> [values]
    page: int = 1
    per_page: int = PER_PAGE
    current_only: bool = False


def _single(params, name):
    values = params.getlist(name) if hasattr(params, "getlist") else [params.get(name)]
    values = [v for v in values if v is not None]
    if len(values) > 1:
        raise SearchError(f"'{name}' may be given once", name)
    return values[0] if values else None


#: control characters (C0, DEL, C1): separators in a query, like white space
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")


def normalise_query(raw):
    """The query as searched, or SearchError. The rule, which the OpenAPI
    schema states in the same terms (``openapi.QUERY_PATTERN``): at most
    ``MAX_QUERY_CHARS`` characters *as sent*; no NUL and no U+FFFD (what
    invalid UTF-8 decodes to); control characters and runs of white space
    become one space; what is left may be empty (the caller decides)."""
    if len(raw) > MAX_QUERY_CHARS:
        raise SearchError(f"The query is {len(raw)} characters long; the limit is {MAX_QUERY_CHARS}.", "q")
    if "\x00" in raw:
        raise SearchError("The query contains a null byte.", "q")
    if "\ufffd" in raw:
        raise SearchError("The query is not valid UTF-8 text.", "q")
    return " ".join(CONTROL_CHARACTERS.sub(" ", raw).split())


def parse_request(params, *, strict=True, allow_empty=False):
    """Validate query parameters into a SearchRequest, or raise SearchError.
    ``strict`` (the API) also rejects parameters it does not know."""
    known = {"q", "mode", "page", "current", *FILTER_PARAMS}
    if strict:
        unknown = sorted(set(params.keys()) - known)
        if unknown:
            raise SearchError(
                f"Unknown parameter(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}", unknown[0]
            )
        for name in sorted(set(params.keys()) - {"q"}):
            values = params.getlist(name) if hasattr(params, "getlist") else [params[name]]
            if "" in values:
                raise SearchError(f"'{name}' must not be empty (leave the parameter out instead).", name)
    q = normalise_query(_single(params, "q") or "")
    if not q and not allow_empty:
        raise SearchError("Type what you are looking for (the query is empty).", "q")
    mode = _single(params, "mode") or "hybrid"
    if mode not in MODES:
        raise SearchError(f"Unknown mode '{mode[:40]}'; use one of {', '.join(MODES)}.", "mode")
    raw_page = _single(params, "page") or "1"
    if not re.fullmatch(r"\d{1,6}", raw_page):
        raise SearchError("'page' must be a whole number from 1.", "page")
    page = int(raw_page)
    if not 1 <= page <= MAX_PAGE:
        raise SearchError(f"'page' must be between 1 and {MAX_PAGE}.", "page")
    filters = {}
    for param, field in FILTER_PARAMS.items():
        values = params.getlist(param) if hasattr(params, "getlist") else ([params[param]] if param in params else [])
        values = [v for v in values if v != ""]
        if len(values) > 20:
            raise SearchError(f"Too many values for '{param}' (at most 20).", param)
        for v in values:
            if not SLUG.match(v):
                raise SearchError(f"'{param}' value '{v[:40]}' is not a valid identifier.", param)
            if field in CHOICES and v not in CHOICES[field]:
                raise SearchError(
                    f"Unknown {param} '{v}'; use one of {', '.join(sorted(CHOICES[field]))}.", param
                )
        if values:
            filters[field] = values
    current = _single(params, "current") or ""
    if current not in ("", "0", "1", "true", "false"):
        raise SearchError("'current' must be 1 or 0.", "current")
    return SearchRequest(q=q, mode=mode, filters=filters, page=page, current_only=current in ("1", "true"))
