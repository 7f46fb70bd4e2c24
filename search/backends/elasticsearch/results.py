"""Turning Elasticsearch responses into GovKM's hits, facets and errors."""

import numpy as np

from ...analysis import MARK_END, MARK_START
from ..base import FACET_FIELDS, Hit
from .mapping import VECTOR_FIELD


class ElasticsearchSearchFailed(Exception):
    """One search inside an ``_msearch`` answered an error."""

    def __init__(self, status, error):
        self.status = status
        self.error = error if isinstance(error, dict) else {"reason": str(error)}
        super().__init__(f"{status} {self.error.get('type', 'error')}: {self.error.get('reason', '')}")


class ElasticsearchIndexingError(Exception):
    """Some chunks of a write were refused; the message names them."""


class ElasticsearchResultParser:
    def __init__(self, mapping):
        self.mapping = mapping

    # --- searches ----------------------------------------------------------
    @staticmethod
    def responses(body, sides):
        """{side: response} from an ``_msearch`` answer; raise on any item error."""
        items = body.get("responses", [])
        if len(items) != len(sides):
            raise ElasticsearchSearchFailed(502, {"type": "bad_response", "reason": f"{len(items)} responses"})
        for item in items:
            if "error" in item:
                raise ElasticsearchSearchFailed(item.get("status", 500), item["error"])
        return dict(zip(sides, items))

    @staticmethod
    def cosine(score):
        """Elasticsearch scores cosine kNN hits as (1 + cosine) / 2; GovKM
        thresholds on the cosine itself."""
        return 2.0 * float(score) - 1.0

    @staticmethod
    def fragment(text, marked):
        """The highlighted fragment, with ellipses where it cuts ``text``
        (as ``search.analysis.highlight`` does)."""
        plain = marked.replace(MARK_START, "").replace(MARK_END, "")
        at = text.find(plain)
        if at < 0:
            return marked
        return ("… " if at > 0 else "") + marked + (" …" if at + len(plain) < len(text) else "")

    def hit(self, raw, side):
        source = raw.get("_source", {})
        score = raw.get("_score") or 0.0
        text = source.get("text", "")
        marked = (raw.get("highlight", {}).get("text") or [None])[0]
        return Hit(
            page_id=int(source["page_id"]),
            position=int(source["position"]),
            score=self.cosine(score) if side == "vector" else float(score),
            title=source.get("title", ""),
            heading=source.get("heading", ""),
            text=text,
            highlight=self.fragment(text, marked) if marked and MARK_START in marked else None,
            metadata=self.mapping.metadata(source),
        )

    def hits(self, response, side):
        return [self.hit(raw, side) for raw in response.get("hits", {}).get("hits", [])]

    @staticmethod
    def facets(response):
        """({field: {value: distinct pages}}, distinct pages matched)."""
        aggs = response.get("aggregations", {})
        out = {}
        for field in FACET_FIELDS:
            buckets = aggs.get(field, {}).get("buckets", [])
            out[field] = {str(b["key"]): int(b["pages"]["value"]) for b in buckets if b["pages"]["value"]}
        return out, int(aggs.get("pages", {}).get("value", 0))

    # --- bookkeeping ---------------------------------------------------------
    @staticmethod
    def vectors(response):
        return [np.asarray(h["_source"][VECTOR_FIELD], dtype=np.float32) for h in response["hits"]["hits"]]

    @staticmethod
    def mean_vector(vectors):
        if not vectors:
            return None
        mean = np.mean(np.stack(vectors), axis=0)
        norm = float(np.linalg.norm(mean))
        return (mean / norm).astype(np.float32) if norm else None

    @staticmethod
    def hashed_vectors(response):
        return {
            h["_source"]["content_hash"]: np.asarray(h["_source"][VECTOR_FIELD], dtype=np.float32)
            for h in response["hits"]["hits"]
        }

    @staticmethod
    def bulk_error(failures, attempted, shown=5):
        """One message naming the refused chunks and why."""
        lines = []
        for item in failures[:shown]:
            op, info = next(iter(item.items()))
            error = info.get("error") or {}
            if not isinstance(error, dict):
                error = {"reason": str(error)}
            lines.append(
                f"{info.get('_id')} ({op}): {info.get('status')} {error.get('type', 'error')}: {error.get('reason', '')}"
            )
        more = f"; and {len(failures) - shown} more" if len(failures) > shown else ""
        return f"Elasticsearch refused {len(failures)} of {attempted} chunks: " + "; ".join(lines) + more

    @staticmethod
    def delete_failures(response):
        failures = response.get("failures") or []
        if not failures:
            return None
        first = failures[0]
        cause = first.get("cause", {}) if isinstance(first, dict) else {}
        return f"delete_by_query failed on {len(failures)} chunk(s): {cause.get('type', '')} {cause.get('reason', first)}"
