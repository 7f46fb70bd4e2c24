"""The production web server: Granian, serving the Django application.

    python -m kmsite.server [--bind HOST:PORT] [--workers N] [--threads N] [--access-log]

Defaults come from the environment (and ``.env``, as for the settings):
``WEB_BIND`` (0.0.0.0:8000),
``WEB_WORKERS`` (one process per core), ``WEB_THREADS`` (4 per process),
``WEB_ACCESS_LOG`` (false). A malformed value stops start-up with a message
naming it.

Granian reads and writes HTTP in Rust, off the interpreter, and hands each
parsed request to one of a worker's Python threads; a slow client ties up
no Python thread, so no buffering proxy is needed in front, unlike
gunicorn's sync workers. On the load benchmark (bench/load.py, same
database, runs alternating with gunicorn 2 × 4 threads) it spent less CPU
per request than gunicorn and served more searches a second on the same two
cores: 7 % more than gunicorn without a configuration file, 18 % more than
gunicorn as this project had configured it (README, "Load").

Each worker process builds the application through ``create_application``:
Django, then the embedding model, the query encoder and a reader of the
search index (``search.warmup``), before it takes traffic.

Granian starts every request's WSGI environ from a copy of the process
environment (as ``wsgiref`` does; request values win where both exist,
granian#878). Left in, that would put the server's secrets (DATABASE_URL,
keys) into ``request.META``, where error reports and debug pages show it,
and a variable such as ``HTTP_X_FORWARDED_PROTO`` would look to Django like
a header every client sent. ``WithoutProcessEnvironment`` takes them out.
"""

import argparse
import gc
import os
import sys

from kmsite.environment import parse_bool, read_dotenv

#: one math thread per request for numpy (OpenBLAS) and ONNX/torch (OpenMP):
#: a web process gets its parallelism from concurrent requests, and a
#: spinning pool per thread would fight the others for the cores
ONE_MATH_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

#: what the server sets on every request, whatever the process environment
#: holds: never removed (the request's own value has replaced the copy)
ALWAYS_SET = frozenset({
    "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME", "SERVER_PORT",
    "SERVER_PROTOCOL", "REMOTE_ADDR", "GATEWAY_INTERFACE", "SERVER_SOFTWARE",
})


class WithoutProcessEnvironment:
    """WSGI middleware: drop from each request's environ every entry that
    is the process environment's and not the request's (same name, same
    value). A header that happens to repeat a process variable's exact value
    is dropped with it; no variable the project sets is named like one."""

    def __init__(self, app, process_environment=None):
        self.app = app
        source = os.environ if process_environment is None else process_environment
        self.inherited = tuple((k, v) for k, v in source.items() if k not in ALWAYS_SET and not k.startswith("wsgi."))

    def __call__(self, environ, start_response):
        for key, value in self.inherited:
            if environ.get(key) == value:
                del environ[key]
        return self.app(environ, start_response)


def create_application():
    """Called by granian in each worker process (``factory=True``)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmsite.settings.production")
    from kmsite.wsgi import application
    from search.warmup import warm_up

    warm_django()
    warm_up()
    settle_heap()
    return WithoutProcessEnvironment(application)


#: the project's applications, whose templates are compiled at start-up
TEMPLATE_APPS = ("kmsite", "knowledge", "search", "training")
#: project modules that pages and searches import inside functions (to
#: keep import cycles out); tests/test_server.py finds any new one
LAZY_IMPORTS = ("kmsite.auth", "knowledge.directory", "knowledge.ownership", "knowledge.policies",
                "training.teaching")


def warm_django():
    """Load now what Django and the project would otherwise load during a
    worker's first requests: the URLconf (and with it every view module),
    the project's templates (compiled into the cached loader, with their tag
    libraries), the cache's Redis client and a connection, the formats of
    the site's language, the context processors, and the message and
    session machinery, and the database connection with the ORM's query
    compiler.

    Each of these is imported on first use, under Python's import lock and
    holding the interpreter, so while one thread imported them the worker's
    other threads waited behind it: a fresh worker took some 335 ms over
    its first page (46 ms once warm), and in the load benchmark the first
    second's requests queued for over a second with the cores half idle.
    Nothing here writes anything or needs a request; a part that fails (the
    cache unreachable, say) is logged and skipped, never fatal: the worker
    then loads it on first use, as before."""
    import importlib
    import logging
    from pathlib import Path

    from django.conf import settings
    from django.core.cache import cache
    from django.template import engines
    from django.template.loader import get_template
    from django.urls import reverse
    from django.utils import formats, translation
    from django.utils.module_loading import import_string

    logger = logging.getLogger("govkm.server")

    def step(name, action):
        try:
            action()
        except Exception as exc:  # warming up never keeps a worker from starting
            logger.warning("warm-up: %s skipped (%s: %s)", name, type(exc).__name__, exc)

    def urls():
        reverse("search")  # builds the reverse lookups, importing every URLconf and view module

    def templates():
        root = Path(settings.BASE_DIR)
        for app in TEMPLATE_APPS:
            folder = root / app / "templates"
            for path in sorted(folder.rglob("*.html")):
                get_template(path.relative_to(folder).as_posix())

    def language():
        with translation.override(settings.LANGUAGE_CODE):
            for name in ("DATE_FORMAT", "DATETIME_FORMAT", "DECIMAL_SEPARATOR", "THOUSAND_SEPARATOR"):
                formats.get_format(name)

    def database():
        from wagtail.models import Site

        Site.objects.exists()  # one read: the connection, and the ORM's compiler module

    def machinery():
        return (
            engines["django"].engine.template_context_processors,
            import_string(settings.MESSAGE_STORAGE),
            import_string(settings.SESSION_ENGINE + ".SessionStore"),
            import_string(settings.SESSION_SERIALIZER),
        )

    step("project modules", lambda: [importlib.import_module(name) for name in LAZY_IMPORTS])
    step("URLconf", urls)
    step("templates", templates)
    step("language formats", language)
    step("context processors, messages and sessions", machinery)
    step("cache connection", lambda: cache.get("km:warm-up"))
    step("database connection and the query compiler", database)


def settle_heap():
    """Collect what warming up left behind, then freeze the rest: move
    every object that exists now out of the cyclic garbage collector's reach
    (``gc.freeze``).

    A warm worker holds some 655,000 objects the collector tracks (Django,
    Wagtail, the model's tokenizer, the index), nearly all of them for the
    life of the process. Python's oldest-generation collection walks all of
    them: 320 ms on these machines, holding the interpreter lock, so every
    request in flight in the process stopped for it, and it ran again each
    time enough new long-lived objects had piled up. After the freeze a full
    collection walks only what was made since (0.0 ms just after start-up).
    Frozen objects are still freed by reference counting when released; only
    a reference cycle among them would stay."""
    gc.collect()
    gc.freeze()


def _positive(name, raw):
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = 0
    if value < 1:
        raise ValueError(f"{name}={raw!r} is not a positive whole number")
    return value


def _bind(name, raw):
    host, sep, port = str(raw).rpartition(":")
    if not sep or not host:
        raise ValueError(f"{name}={raw!r} is not HOST:PORT")
    port = _positive(name, port)
    if port > 65535:
        raise ValueError(f"{name}={raw!r}: the port must be at most 65535")
    return host.strip("[]"), port


def options(argv=None, environ=None):
    """The server's settings from the command line over the environment,
    checked; raises SystemExit (status 2) with a message naming the faulty
    option or variable."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog="python -m kmsite.server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bind", help="HOST:PORT (WEB_BIND, default 0.0.0.0:8000)")
    parser.add_argument("--workers", help="worker processes (WEB_WORKERS, default: one per core)")
    parser.add_argument("--threads", help="Python threads per worker (WEB_THREADS, default 4)")
    parser.add_argument("--access-log", action="store_true", default=None, help="log every request (WEB_ACCESS_LOG)")
    args = parser.parse_args(argv)

    def pick(flag, variable, default):
        value = getattr(args, flag)
        if value is not None:
            return f"--{flag.replace('_', '-')}", value
        return variable, environ.get(variable, default)

    try:
        host, port = _bind(*pick("bind", "WEB_BIND", "0.0.0.0:8000"))
        workers = _positive(*pick("workers", "WEB_WORKERS", str(os.cpu_count() or 1)))
        threads = _positive(*pick("threads", "WEB_THREADS", "4"))
        access_log = parse_bool(*pick("access_log", "WEB_ACCESS_LOG", "false"))
    except ValueError as exc:
        parser.error(str(exc))
    return {"address": host, "port": port, "workers": workers, "blocking_threads": threads, "log_access": access_log}


def main(argv=None):
    read_dotenv()
    settings = options(argv)
    for variable, value in ONE_MATH_THREAD.items():  # inherited by the workers before they import numpy
        os.environ.setdefault(variable, value)
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        "kmsite.server:create_application",
        factory=True,
        interface=Interfaces.WSGI,
        websockets=False,
        respawn_failed_workers=True,  # a worker that dies is replaced, as gunicorn's arbiter did
        workers_kill_timeout=30,  # graceful shutdown: requests in flight get 30 s
        **settings,
    ).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
