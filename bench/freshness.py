"""Freshness benchmark: the sweep over 10k and 100k pages with 5 cites each.

    .venv/bin/python bench/freshness.py [--sizes 10000,100000] [--json bench/results/freshness.json]

Pages are written in bulk into a scratch database (SQLite by default,
BENCH_DATABASE_URL for PostgreSQL): Page rows through ``bulk_create`` with
treebeard paths computed directly, the knowledge tables by executemany, and
citations, access tokens and a few open "cited page changed" flags in bulk.
Review dates are spread over three years. The rows are written without a
stored state (as no page saved through Wagtail would be), so three sweeps
are timed per size:

* initial: the worst case, every state and due date written, every page
  whose state differs scheduled for re-indexing (search's ``schedule``, one
  outbox row and one task per page), review tasks, digests and escalations
  for everyone;
* repeat: the same day again (nothing changes; every reminder is known);
* daily: the next day's sweep, the one beat runs every night: the pages
  whose state changed overnight, new reminders, the day's figures.

The goal (100k pages in 30 s or less) is for the nightly sweep. Deploying
this release does not meet the initial case: migration 0003 stores every
page's state in bulk, without re-indexing.

Also timed: propagating one material change through the cites graph
(depth KM_PROPAGATION_DEPTH) from the most cited page. E-mail goes to
Django's in-memory backend and Celery to the in-memory broker, so the
figures are the sweep's own work, not SMTP or a broker round trip.
"""

import argparse
import datetime
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ROOT, machine, peak_rss_mb, scratch_environment  # noqa: E402

OWNERS, UNITS, CITES = 200, 20, 5
GOAL_SECONDS = 30.0


def raw_insert(model, objects, connection):
    """INSERT the local (own-table) fields of ``objects``: bulk_create does
    not do multi-table inheritance, so each table of the chain is written here."""
    fields = model._meta.local_concrete_fields
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    rows = [[f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields] for obj in objects]
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # noqa: S608


def people_and_units():
    from django.contrib.auth import get_user_model

    from knowledge.models import OrgUnit

    User = get_user_model()
    users = User.objects.bulk_create(
        [User(username=f"bench-owner-{i}", email=f"owner{i}@bench.example") for i in range(OWNERS)]
    )
    units = OrgUnit.objects.bulk_create(
        [OrgUnit(name=f"Unit {i}", slug=f"bench-unit-{i}", manager=users[i], content_lead=users[i + UNITS])
         for i in range(UNITS)]
    )
    return [u.pk for u in users], [u.pk for u in units]


def create_pages(section, start, count, owners, units, rng, today):
    """``count`` live policies and procedures below ``section`` (in batches)."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.utils import timezone
    from wagtail.models import Locale, Page

    from knowledge.models import KnowledgePage, PageAccessToken, PolicyPage, ProcedurePage

    locale = Locale.get_default()
    types = ContentType.objects.get_for_models(PolicyPage, ProcedurePage)
    made = []
    for offset in range(0, count, 5000):
        batch = range(start + offset, start + min(count, offset + 5000))
        now = timezone.now()
        pages = []
        for i in batch:
            kind = PolicyPage if i % 2 else ProcedurePage
            published = now - datetime.timedelta(days=rng.randint(30, 1500))
            pages.append(Page(
                title=f"Bench page {i}", draft_title=f"Bench page {i}", slug=f"bench-{i}",
                content_type=types[kind], live=True, has_unpublished_changes=False,
                path=Page._get_path(section.path, section.depth + 1, i + 1), depth=section.depth + 1, numchild=0,
                url_path=f"{section.url_path}bench-{i}/", first_published_at=published,
                last_published_at=published, latest_revision_created_at=published, locale=locale,
            ))
        with transaction.atomic():
            Page.objects.bulk_create(pages, batch_size=1000)
            knowledge, policies, procedures = [], [], []
            for page in pages:
                i = int(page.slug.rsplit("-", 1)[1])
                reviewed = today - datetime.timedelta(days=rng.randint(0, 1100)) if rng.random() < 0.8 else None
                fields = dict(page_ptr_id=page.pk, summary="Bench summary.", unit_id=rng.choice(units),
                              owner_user_id=rng.choice(owners), audience=("public", "internal", "restricted")[i % 3],
                              last_reviewed_at=reviewed)
                if page.content_type_id == types[PolicyPage].pk:
                    obj = PolicyPage(**fields, reference_number=f"B-{i}", status="in_force",
                                     effective_date=datetime.date(2020, 1, 1), body=[])
                    obj.knowledgepage_ptr_id = page.pk
                    policies.append(obj)
                else:
                    obj = ProcedurePage(**fields, purpose="<p>Purpose.</p>", responsible_role="Officer", steps=[])
                    obj.knowledgepage_ptr_id = page.pk
                    procedures.append(obj)
                knowledge.append(obj)
            raw_insert(KnowledgePage, knowledge, connection)
            raw_insert(PolicyPage, policies, connection)
            raw_insert(ProcedurePage, procedures, connection)
            tokens = []
            for obj in knowledge:
                token = {"public": "public", "internal": "auth", "restricted": "group:1"}[obj.audience]
                tokens += [PageAccessToken(page_id=obj.pk, token=token), PageAccessToken(page_id=obj.pk, token="superuser")]
            PageAccessToken.objects.bulk_create(tokens, batch_size=2000)
        made += [p.pk for p in pages]
    Page.objects.filter(pk=section.pk).update(numchild=start + count)
    return made


def add_citations(page_ids, all_ids, rng):
    from django.db import transaction

    from knowledge.models import Citation

    # a skewed graph: a few pages are cited a lot (as policies are), most rarely
    popular = all_ids[: max(50, len(all_ids) // 200)]
    with transaction.atomic():
        rows = []
        for pk in page_ids:
            targets = set()
            while len(targets) < CITES:
                target = rng.choice(popular) if rng.random() < 0.3 else rng.choice(all_ids)
                if target != pk:
                    targets.add(target)
            rows += [Citation(page_id=pk, target_id=t, relation="references", sort_order=n) for n, t in enumerate(targets)]
        Citation.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def add_flags(page_ids, rng, today):
    from knowledge.models import MaterialChange, ReviewTask

    source = page_ids[0]
    change = MaterialChange.objects.create(page_id=source, revision_id=10**9 + len(page_ids), summary="Bench change")
    chosen = rng.sample(page_ids[1:], max(1, len(page_ids) // 100))
    ReviewTask.objects.bulk_create([
        ReviewTask(key=f"changed:{pk}:{change.revision_id}", page_id=pk, kind="cited_change", due_date=today,
                   change=change, changed_page_id=source, depth=1, note="Bench change") for pk in chosen
    ], batch_size=2000)


def timed_sweep(today):
    from knowledge.sweep import run_sweep

    started = time.perf_counter()
    summary = run_sweep(today=today)
    return round(time.perf_counter() - started, 2), summary.as_dict()


def timed_propagation(rng):
    from django.db.models import Count

    from knowledge.models import KnowledgePage
    from knowledge.propagation import propagate_change

    top = KnowledgePage.objects.annotate(n=Count("incoming_citations")).order_by("-n").first()
    started = time.perf_counter()
    change = propagate_change(top, 2 * 10**9 + rng.randint(0, 10**6), "Bench material change")
    return {"seconds": round(time.perf_counter() - started, 2), "cited_directly_by": top.n,
            "flagged": change.flagged_count, "depth": change.depth_reached}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--json", default=str(ROOT / "bench/results/freshness.json"))
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    os.environ["EMAIL_URL"] = "memorymail://"
    os.environ["CELERY_BROKER_URL"] = "memory://"
    scratch_environment("govkm-bench-freshness-")
    from django.core import mail
    from django.utils import timezone

    from knowledge.demo import ensure_site

    rng = random.Random(args.seed)
    today = timezone.localdate()
    _home, sections = ensure_site()
    section = sections["policy"].specific
    owners, units = people_and_units()
    all_ids, runs = [], []
    for size in sizes:
        started = time.perf_counter()
        new = create_pages(section, len(all_ids), size - len(all_ids), owners, units, rng, today)
        all_ids += new
        citations = add_citations(new, all_ids, rng)
        add_flags(new, rng, today)
        setup = round(time.perf_counter() - started, 1)
        print(f"{size} pages: created in {setup}s ({citations} citations added)", flush=True)
        initial, initial_summary = timed_sweep(today)
        repeat, repeat_summary = timed_sweep(today)
        daily, daily_summary = timed_sweep(today + datetime.timedelta(days=1))
        propagation = timed_propagation(rng)
        mail.outbox.clear()
        run = {
            "pages": size, "cites_per_page": CITES, "owners": OWNERS, "units": UNITS, "setup_seconds": setup,
            "daily_sweep_seconds": daily, "initial_sweep_seconds": initial, "repeat_sweep_seconds": repeat,
            "daily": daily_summary, "initial": initial_summary, "repeat": repeat_summary,
            "propagation": propagation, "goal_met": daily <= GOAL_SECONDS if size >= 100_000 else None,
        }
        runs.append(run)
        print(f"  sweep: daily {daily}s (changed {daily_summary['changed']}, {daily_summary['emails_sent']} e-mails); "
              f"initial {initial}s (changed {initial_summary['changed']}, re-indexed {initial_summary['reindexed']} "
              f"in {initial_summary['reindex_seconds']}s, "
              f"{initial_summary['emails_sent']} e-mails); repeat {repeat}s; "
              f"propagation from the most cited page {propagation['seconds']}s "
              f"({propagation['flagged']} flagged)", flush=True)
    result = {"benchmark": "freshness", "goal": f"nightly sweep of 100k pages <= {GOAL_SECONDS:.0f}s",
              "database": os.environ["DATABASE_URL"].split(":", 1)[0], "machine": machine(),
              "peak_rss_mb": peak_rss_mb(), "runs": runs}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
