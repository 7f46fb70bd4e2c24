"""Domain signals: what happened to guidance, for the apps that build on it.

``knowledge`` is the core: it never imports ``search`` or ``training``.
It announces what happened here, and each consumer acts on it in its own
``signal_handlers.py``, connected in its ``AppConfig.ready``
(docs/architecture.md, "Domain signals"). Wagtail's own signals
(``page_published``, ``page_unpublished``, ``post_page_move``) and the ORM's
(``PageViewRestriction`` saves) already say when a page is published,
unpublished, moved or restricted; the signals here say what only
knowledge knows.

Every signal is sent inside the transaction that made the change, with
ids and plain values (never model instances a handler could hold on to).
A handler that writes to the database in that transaction (search's
outbox) commits or rolls back with the change; a handler with slower or
optional work defers it with ``transaction.on_commit`` to a Celery task,
so a rolled-back change sets nothing off and a failure there never undoes
the change. Receivers take ``**kwargs`` (Django's rule for signals), so
an argument can be added later.
"""

from django.dispatch import Signal

#: The stored freshness state of these pages changed (flagged because a page
#: they cite changed materially, reviewed, or moved by the nightly sweep).
#: Arguments: ``page_ids`` (list of int), ``reason`` (str, e.g. "freshness").
#: Sent by ``propagation`` and ``sweep``; search re-indexes the pages.
freshness_changed = Signal()

#: A knowledge page was published with a material change (the editor ticked
#: "material change" and said what changed); sent once per revision, after
#: the pages citing it were flagged. Arguments: ``page_id`` (int),
#: ``revision_id`` (int), ``summary`` (str), ``changed_at`` (aware datetime).
#: Sent by ``propagation.propagate_change``; training flags the modules
#: using the page and enrols their past learners in a refresher.
material_change = Signal()

#: An owner confirmed a page is still accurate (``review.confirm_review``).
#: Arguments: ``page_id`` (int), ``user_id`` (int), ``reviewed_on`` (date),
#: ``on_time`` (bool: the review was not overdue). Search re-indexes the
#: page (its review date and freshness); training records an on-time
#: review as evidence of competence.
page_reviewed = Signal()
