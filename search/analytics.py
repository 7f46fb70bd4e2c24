"""Search analytics: masking, an off-request-path writer, unanswered
queries and their clusters, popular and rising searches, retention.

Privacy by default: query text is masked (emails, phone numbers, long
numbers) before it is stored, identities are not kept (only the unit), and
accountability logging of who saw what is off unless switched on.
"""

import atexit
import datetime
import hashlib
import logging
import queue
import re
import threading
import uuid

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, transaction
from django.db.models import Count, Q
from django.utils import timezone

from kmsite.cache import get_and_set

logger = logging.getLogger("govkm.search")

DEFAULTS = {
    "ENABLED": True,
    "ASYNC": True,
    "MASK_PERSONAL_DATA": True,
    "RETENTION_DAYS": 180,
    "UNANSWERED_SIMILARITY": 0.35,
    "NO_CLICK_AFTER_MINUTES": 30,
    "REFORMULATION_MINUTES": 5,
    "CLUSTER_SIMILARITY": 0.45,  # MiniLM: paraphrases score 0.48-0.87 here, unrelated queries under 0.25
    "POPULAR_MIN_SESSIONS": 3,  # rising searches (admin report)
    "POPULAR_MIN_USERS": 3,  # popular searches on the public home page (search/popular.py)
    "ACCOUNTABILITY": False,
    "ACCOUNTABILITY_RETENTION_DAYS": 730,
}

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
PHONE = re.compile(r"(?<![\w/])\+?\(?\d[\d\s().-]{5,}\d(?![\w/])")
LONG_NUMBER = re.compile(r"\b[A-Za-z]{0,3}\d{6,}[A-Za-z]?\b")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,3})?\b")


def conf(name):
    return {**DEFAULTS, **getattr(settings, "KM_ANALYTICS", {})}[name]


def mask(text):
    """Replace personal data that people paste into search boxes."""
    text = EMAIL.sub("[email]", text)
    text = IBAN.sub("[account]", text)

    def phone(m):
        return "[phone]" if sum(c.isdigit() for c in m.group(0)) >= 7 else m.group(0)

    text = LONG_NUMBER.sub("[number]", text)  # unbroken digit runs: IDs, accounts
    return PHONE.sub(phone, text)  # digits broken by spaces, dots or dashes


def normalise_query(text):
    text = " ".join(text.split())
    return mask(text) if conf("MASK_PERSONAL_DATA") else text


# --- the writer ----------------------------------------------------------------
class _Writer:
    """Writes analytics rows on a background thread, in batches, in order."""

    def __init__(self):
        self.queue = queue.Queue(maxsize=50_000)
        self.thread = None
        self.lock = threading.Lock()

    def submit(self, op):
        if not conf("ASYNC"):
            _apply([op])
            return
        self._ensure()
        try:
            self.queue.put_nowait(op)
        except queue.Full:  # analytics never slows or breaks search
            logger.warning("analytics queue full; a log entry was dropped")

    def _ensure(self):
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="govkm-analytics", daemon=True)
                self.thread.start()

    def _run(self):
        while True:
            ops = [self.queue.get()]
            try:
                while len(ops) < 500:
                    ops.append(self.queue.get(timeout=0.2))
            except queue.Empty:
                pass
            try:
                close_old_connections()
                _apply(ops)
            except Exception:
                logger.exception("writing %d analytics rows failed", len(ops))
            finally:
                for _ in ops:
                    self.queue.task_done()

    def flush(self, timeout=10):
        if self.thread is not None and self.thread.is_alive():
            done = threading.Event()
            threading.Thread(target=lambda: (self.queue.join(), done.set()), daemon=True).start()
            done.wait(timeout)


writer = _Writer()
atexit.register(writer.flush, 5)


def _apply(ops):
    from .models import Exposure, QueryLog, ResultClick

    logs = [o[1] for o in ops if o[0] == "query"]
    clicks = [o[1] for o in ops if o[0] == "click"]
    exposures = [o[1] for o in ops if o[0] == "exposure"]
    with transaction.atomic():
        if logs:
            # a reformulation may point at a search whose row was pruned or
            # never written (queue overflow): drop the link, keep the search
            refs = {f["reformulation_of_id"] for f in logs if f.get("reformulation_of_id")}
            present = {f["id"] for f in logs} | set(
                QueryLog.objects.filter(pk__in=refs).values_list("pk", flat=True)
            )
            for f in logs:
                if f.get("reformulation_of_id") not in present:
                    f["reformulation_of_id"] = None
            QueryLog.objects.bulk_create([QueryLog(**fields) for fields in logs], ignore_conflicts=True)
        if clicks:
            known = set(QueryLog.objects.filter(pk__in=[c["query_log_id"] for c in clicks]).values_list("pk", flat=True))
            ResultClick.objects.bulk_create([ResultClick(**c) for c in clicks if c["query_log_id"] in known])
            QueryLog.objects.filter(pk__in=known).update(clicked=True)
        if exposures:
            Exposure.objects.bulk_create([Exposure(**e) for e in exposures])


def flush():
    writer.flush()


# --- recording -------------------------------------------------------------------
def user_unit_id(user):
    if user is None or not user.is_authenticated:
        return None
    from knowledge.access import viewer_facts

    return viewer_facts(user)["unit_id"]


def session_hash(request):
    """A keyed hash standing for the visitor's session. Signed-in visitors:
    their session key. Others: their address and browser with a salt that
    changes every day, so no cookie is set and no visitor can be followed
    from one day to the next."""
    key = request.session.session_key if hasattr(request, "session") else None
    if not key:
        from kmsite.security import client_address

        day = timezone.localdate().isoformat()
        key = f"anon:{day}:{client_address(request)}:{request.META.get('HTTP_USER_AGENT', '')[:200]}"
    return hashlib.sha256(f"{settings.SECRET_KEY}:{key}".encode()).hexdigest()[:32]


def voter_hash(user, query):
    """A keyed hash of a signed-in person and a normalised query together:
    counts distinct people per term without linking one person's searches."""
    if user is None or not user.is_authenticated:
        return ""
    term = " ".join(query.split()).lower()
    return hashlib.sha256(f"{settings.SECRET_KEY}:voter:{user.pk}:{term}".encode()).hexdigest()[:32]


ANSWER_REFUSALS = ("low_confidence", "superseded")


def record_search(request, search_request, response, answer=None):
    """Log one search (off the request path). Returns the log id for click
    links. ``answer`` is the answer card's outcome (``answers.Outcome``):
    its state is kept, and where accountability logging is on the answer
    shown is logged with the revision it came from."""
    if not conf("ENABLED"):
        return None
    log_id = uuid.uuid4()
    now = timezone.now()
    reformulation_of = None
    session_id = session_hash(request)
    if session_id and search_request.page == 1:
        # the previous search of this session, kept in the cache (not the
        # session: writing the session on every search serialises requests
        # on the session table)
        key = f"kmsearch:last:{session_id}"
        last = get_and_set(cache, key, (str(log_id), now.timestamp()), conf("REFORMULATION_MINUTES") * 60)
        if last and now.timestamp() - last[1] <= conf("REFORMULATION_MINUTES") * 60:
            reformulation_of = last[0]
    query = normalise_query(search_request.q)[:1000]
    writer.submit(("query", {
        "id": log_id,
        "created_at": now,
        "query": query,
        "voter": voter_hash(request.user, query),
        "mode": search_request.mode,
        "filters": {k: v for k, v in search_request.filters.items()},
        "result_count": response.total,
        "best_similarity": response.best_similarity,
        "result_pages": [r.page_id for r in response.results],
        "unit_id": user_unit_id(request.user),
        "session_key": session_id,
        "reformulation_of_id": uuid.UUID(reformulation_of) if reformulation_of else None,
        "answer_state": ("shown" if answer.answer else answer.refusal if answer.refusal in ANSWER_REFUSALS else "")
        if answer is not None else "",
        "answer_page_id": answer.answer.page_id if answer is not None and answer.answer else None,
    }))
    if conf("ACCOUNTABILITY") and request.user.is_authenticated:
        for r in response.results:
            writer.submit(("exposure", {
                "user_id": request.user.pk, "page_id": r.page_id, "revision_id": r.revision_id,
                "kind": "shown", "query_log_id": log_id, "created_at": now,
            }))
        if answer is not None and answer.answer is not None:
            writer.submit(("exposure", {
                "user_id": request.user.pk, "page_id": answer.answer.page_id,
                "revision_id": answer.answer.revision_id, "kind": "answer", "query_log_id": log_id, "created_at": now,
            }))
    return log_id


def record_click(log_id, page_id, position):
    if conf("ENABLED"):
        writer.submit(("click", {"query_log_id": log_id, "page_id": page_id, "position": position}))


def record_opened(user, page):
    if conf("ACCOUNTABILITY") and user is not None and user.is_authenticated:
        writer.submit(("exposure", {
            "user_id": user.pk, "page_id": page.pk, "revision_id": page.live_revision_id,
            "kind": "opened", "query_log_id": None, "created_at": timezone.now(),
        }))


# --- unanswered ------------------------------------------------------------------
def unanswered_q(now=None):
    """Searches that did not find an answer: nothing came back, the best
    match was too weak, the answer card was refused (low confidence, or
    only superseded guidance matched), the reader said the card did not
    answer the question, or nobody opened any result (a card shown, and not
    rejected, counts as answered without a click)."""
    from .models import PageFeedback

    now = now or timezone.now()
    threshold = conf("UNANSWERED_SIMILARITY")
    settled = now - datetime.timedelta(minutes=conf("NO_CLICK_AFTER_MINUTES"))
    rejected = PageFeedback.objects.filter(kind="answer", helpful=False, search_id__isnull=False).values("search_id")
    return (
        Q(result_count=0)
        | Q(best_similarity__lt=threshold)
        | Q(answer_state__in=ANSWER_REFUSALS)
        | Q(pk__in=rejected)
        | (Q(clicked=False, created_at__lte=settled) & ~Q(answer_state="shown"))
    )


def unanswered_reason(log, now=None):
    now = now or timezone.now()
    if log.result_count == 0:
        return "no results"
    if log.best_similarity is not None and log.best_similarity < conf("UNANSWERED_SIMILARITY"):
        return "weak match"
    if log.answer_state in ANSWER_REFUSALS:
        return "no answer card" if log.answer_state == "low_confidence" else "only superseded guidance"
    from .models import PageFeedback

    if log.answer_state == "shown" and PageFeedback.objects.filter(kind="answer", helpful=False, search_id=log.pk).exists():
        return "answer rejected"
    if log.answer_state == "shown":
        return ""
    if not log.clicked and log.created_at <= now - datetime.timedelta(minutes=conf("NO_CLICK_AFTER_MINUTES")):
        return "no clicks"
    return ""


def cluster_queries(texts_with_counts, embedder=None, threshold=None):
    """Group near-duplicate queries by their embeddings (greedy leader
    clustering, most frequent first). Returns [{"label", "queries", "count"}]."""
    from .embeddings import get_embedder

    threshold = conf("CLUSTER_SIMILARITY") if threshold is None else threshold
    items = sorted(texts_with_counts, key=lambda tc: (-tc[1], tc[0]))
    if not items:
        return []
    embedder = embedder or get_embedder()
    vectors = embedder.embed_documents([t for t, _ in items])
    leaders, clusters = [], []
    for (text, count), vec in zip(items, vectors):
        if leaders:
            sims = np.asarray(leaders) @ vec
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                clusters[best]["queries"].append(text)
                clusters[best]["count"] += count
                continue
        leaders.append(vec)
        clusters.append({"label": text, "queries": [text], "count": count})
    return sorted(clusters, key=lambda c: -c["count"])


def unanswered_groups(days=30, limit=2000, now=None):
    from .models import QueryLog

    now = now or timezone.now()
    logs = QueryLog.objects.filter(created_at__gte=now - datetime.timedelta(days=days)).filter(unanswered_q(now))
    counts = {}
    for text in logs.values_list("query", flat=True)[:50_000]:
        key = text.lower()
        counts[key] = counts.get(key, 0) + 1
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:limit]
    return cluster_queries(top)


def daily_trend(days=30, now=None):
    """[(date, searches, unanswered)] for the chart."""
    from django.db.models.functions import TruncDate

    from .models import QueryLog

    now = now or timezone.now()
    since = now - datetime.timedelta(days=days)
    base = QueryLog.objects.filter(created_at__gte=since).annotate(day=TruncDate("created_at"))
    total = dict(base.values("day").annotate(n=Count("pk")).values_list("day", "n"))
    missed = dict(base.filter(unanswered_q(now)).values("day").annotate(n=Count("pk")).values_list("day", "n"))
    start = since.date()
    return [(start + datetime.timedelta(days=i), total.get(start + datetime.timedelta(days=i), 0),
             missed.get(start + datetime.timedelta(days=i), 0)) for i in range(days + 1)]


# --- popular and rising ------------------------------------------------------------
# popular searches for the public home page: search/popular.py


def rising_queries(days=7, limit=8, now=None):
    """Searches growing fastest: this period against the one before, smoothed."""
    from .models import QueryLog

    now = now or timezone.now()
    recent_start, prior_start = now - datetime.timedelta(days=days), now - datetime.timedelta(days=2 * days)
    qs = QueryLog.objects.filter(created_at__gte=prior_start).exclude(session_key="")
    rows = qs.values("query").annotate(
        recent=Count("pk", filter=Q(created_at__gte=recent_start)),
        prior=Count("pk", filter=Q(created_at__lt=recent_start)),
        sessions=Count("session_key", distinct=True),
    ).filter(sessions__gte=conf("POPULAR_MIN_SESSIONS"), recent__gt=0)
    scored = sorted(((r["recent"] + 1) / (r["prior"] + 1), r["recent"], r["query"]) for r in rows)
    return [(q, recent, round(ratio, 2)) for ratio, recent, q in reversed(scored) if ratio > 1][:limit]


# --- retention ---------------------------------------------------------------------
def prune(now=None):
    """Delete logs past their retention. Returns {model: rows deleted}."""
    from .models import Exposure, QueryLog

    now = now or timezone.now()
    q_cut = now - datetime.timedelta(days=conf("RETENTION_DAYS"))
    e_cut = now - datetime.timedelta(days=conf("ACCOUNTABILITY_RETENTION_DAYS"))
    _, logs = QueryLog.objects.filter(created_at__lt=q_cut).delete()
    _, exposures = Exposure.objects.filter(created_at__lt=e_cut).delete()
    return {"queries": logs.get("kmsearch.QueryLog", 0), "exposures": exposures.get("kmsearch.Exposure", 0)}


