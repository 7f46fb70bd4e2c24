"""OpenAPI 3.1 description of the search API (served at /api/schema/)."""

from .service import CHOICES, MAX_PAGE, MAX_QUERY_CHARS, MODES

# What ``service.normalise_query`` leaves non-empty: a character that is
# neither a control character (which it turns into a space) nor white space
# as Python's str.split() knows it (which JSON Schema's \\s does not match
# exactly: it lacks U+001C-U+001F and U+0085, and has U+FEFF). No NUL or
# U+FFFD anywhere. The length limit applies to the query as sent.
_SEPARATORS = "\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000"
QUERY_PATTERN = f"^[^\\u0000\\uFFFD]*[^{_SEPARATORS}\\uFFFD][^\\u0000\\uFFFD]*$"


def _array_param(name, description, enum=None):
    items = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,99}$"}
    if enum:
        items = {"type": "string", "enum": sorted(enum)}
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "items": items, "maxItems": 20},
    }


def schema():
    error = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["message"],
                "properties": {"message": {"type": "string"}, "field": {"type": ["string", "null"]}},
            }
        },
    }
    result = {
        "type": "object",
        "properties": {
            "page_id": {"type": "integer"},
            "title": {"type": "string"},
            "url": {"type": "string"},
            "content_type": {"type": "string"},
            "unit_name": {"type": "string"},
            "status": {"type": "string"},
            "freshness": {"type": "string"},
            "audience": {"type": "string"},
            "last_reviewed": {"type": ["string", "null"]},
            "snippet_html": {"type": "string", "description": "HTML-escaped passage; matches wrapped in <mark>"},
            "heading": {"type": "string"},
            "score": {"type": "number"},
            "successor_id": {"type": ["integer", "null"]},
            "successor": {"type": ["object", "null"]},
            "topics": {"type": "array", "items": {"type": "string"}},
        },
    }
    nullable_string = {"type": ["string", "null"]}
    answer = {
        "type": ["object", "null"],
        "description": "The answer card: a sentence or two taken word for word from guidance the caller may "
                       "view, or null when the match is weak or only superseded guidance matched. Never "
                       "generated. Only on page 1.",
        "required": ["text", "page_id", "title", "url", "section", "trust_state", "confidence"],
        "properties": {
            "text": {"type": "string", "description": "Plain text, word for word from the page (not HTML)"},
            "page_id": {"type": "integer"},
            "title": {"type": "string"},
            "url": {"type": "string", "description": "The page with ?hl=<sentence>#answer: the page marks and "
                                                     "scrolls to the sentence"},
            "section": {"type": "string"},
            "trust_state": {"type": "string", "description": "The page's freshness: "
                                                           + ", ".join(sorted(CHOICES["freshness"]))},
            "status": {"type": "string"},
            "confidence": {"type": "number"},
            "revision_id": {"type": ["integer", "null"]},
            "unit": {"type": "string"},
            "last_reviewed": nullable_string,
            "in_force_since": {**nullable_string, "description": "Policies: the date they took effect (ISO 8601)"},
            "warning": {**nullable_string, "description": "Shown with the answer, e.g. for a page overdue for review"},
            "successor": {"type": ["object", "null"]},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "GovKM search API",
            "version": "1.0.0",
            "description": "Hybrid (lexical + semantic) search over the guidance the caller may view.",
        },
        "paths": {
            "/api/search/": {
                "get": {
                    "operationId": "search",
                    "summary": "Search knowledge pages",
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "required": True,
                            "description": "What to look for, in the reader's own words: at most "
                                           f"{MAX_QUERY_CHARS} characters as sent, with at least one that is "
                                           "neither white space nor a control character (those count as "
                                           "spaces); no NUL characters or invalid UTF-8.",
                            "schema": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": MAX_QUERY_CHARS,
                                "pattern": QUERY_PATTERN,
                            },
                        },
                        {"name": "mode", "in": "query", "schema": {"type": "string", "enum": list(MODES), "default": "hybrid"}},
                        {"name": "page", "in": "query", "description": "1-based; a page after the last one is a 400",
                         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}},
                        {"name": "current", "in": "query", "schema": {"type": "string", "enum": ["0", "1", "true", "false"]}},
                        _array_param("type", "Content type", CHOICES["content_type"]),
                        _array_param("topic", "Topic slug"),
                        _array_param("unit", "Organisation unit slug (includes units below it)"),
                        _array_param("status", "Status", CHOICES["status"]),
                        _array_param("audience", "Audience", CHOICES["audience"]),
                        _array_param("freshness", "Freshness state", CHOICES["freshness"]),
                    ],
                    "responses": {
                        "200": {
                            "description": "Results the caller may view",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["query", "answer", "results", "total", "facets"],
                                        "properties": {
                                            "query": {"type": "string"},
                                            "mode": {"type": "string"},
                                            "page": {"type": "integer"},
                                            "num_pages": {"type": "integer"},
                                            "total": {"type": "integer"},
                                            "took_ms": {"type": "number"},
                                            "notice": {"type": "string"},
                                            "answer": answer,
                                            "results": {"type": "array", "items": result},
                                            "facets": {"type": "object"},
                                        },
                                    }
                                }
                            },
                        },
                        "400": {"description": "Invalid request", "content": {"application/json": {"schema": error}}},
                        "429": {"description": "Too many requests", "content": {"application/json": {"schema": error}}},
                    },
                }
            }
        },
    }
