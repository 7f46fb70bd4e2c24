"""Configuration: malformed values fail loudly; the compose file is complete."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def run_settings(module, **env):
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    clean.update(env, DJANGO_SETTINGS_MODULE=module)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize(
    "var,value",
    [
        ("DATABASE_URL", "mysql-ish:nonsense"),
        ("DEBUG", "maybe"),
        ("CELERY_BROKER_URL", "carrier-pigeon://x"),
        ("ELASTICSEARCH_URL", "es1:9200"),
        ("KM_CHUNK_TOKENS", "lots"),
        ("REDIS_URL", "localhost:6379"),
    ],
)
def test_malformed_variable_is_named_at_start_up(var, value):
    result = run_settings("kmsite.settings.dev", **{var: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and var in result.stderr


def test_production_requires_a_secret_key():
    result = run_settings("kmsite.settings.production")
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr
    weak = run_settings("kmsite.settings.production", SECRET_KEY="a" * 60)
    assert weak.returncode != 0 and "SECRET_KEY" in weak.stderr
    ok = run_settings("kmsite.settings.production", SECRET_KEY=secrets.token_urlsafe(50))
    assert ok.returncode == 0, ok.stderr


def test_defaults_are_the_embedded_quickstart():
    result = run_settings("kmsite.settings.dev")
    assert result.returncode == 0 and "sqlite3" in result.stdout
    pg = run_settings("kmsite.settings.dev", DATABASE_URL="postgres://postgres@127.0.0.1:5432/x")
    assert "postgresql" in pg.stdout


def test_unknown_backend_option_is_refused(settings):
    from django.core.exceptions import ImproperlyConfigured

    from search.backends import load_backend

    with pytest.raises(ImproperlyConfigured, match="BM25_K3"):
        load_backend("x", {"BACKEND": "search.backends.local", "OPTIONS": {"BM25_K3": 1}})
    with pytest.raises(ImproperlyConfigured, match="OPTIONZ"):
        load_backend("x", {"BACKEND": "search.backends.local", "OPTIONZ": {}})


def test_env_example_lists_every_variable_the_settings_read():
    source = "\n".join(p.read_text() for p in (ROOT / "kmsite" / "settings").glob("*.py"))
    read = set(re.findall(r'_checked\("([A-Z_]+)"', source)) | set(re.findall(r'_url\(\s*"([A-Z_]+)"', source))
    read |= set(re.findall(r'env\.\w+\("([A-Z_]+)"', source)) | set(re.findall(r'_bool\("([A-Z_]+)"', source))
    server = set(re.findall(r'"(WEB_[A-Z_]+)"', (ROOT / "kmsite" / "server.py").read_text()))  # the web server's own
    assert {"WEB_BIND", "WEB_WORKERS", "WEB_THREADS", "WEB_ACCESS_LOG"} <= server
    read |= server
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z_]+)=", example, re.M))
    assert read - listed == set()


def test_compose_file_has_the_production_stack():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"db", "redis", "elasticsearch", "web", "worker", "beat"} <= set(services)
    for name in ("db", "redis", "elasticsearch", "web"):
        assert "healthcheck" in services[name], name
    assert services["elasticsearch"]["image"].startswith("docker.elastic.co/elasticsearch/elasticsearch:8.")
    for name in ("web", "worker", "beat"):
        env = services[name].get("environment", {})
        env = env if isinstance(env, dict) else dict(e.split("=", 1) for e in env)
        for var in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "SECRET_KEY", "ELASTICSEARCH_URL", "ALLOWED_HOSTS"):
            assert var in env, (name, var)
        assert "depends_on" in services[name]
    command = services["web"]["command"]
    assert "-m kmsite.server" in (" ".join(command) if isinstance(command, list) else command)
    for volume in ("pgdata", "esdata", "media"):
        assert volume in compose["volumes"]


def test_the_example_environment_file_copied_as_it_is_means_the_defaults(tmp_path, monkeypatch):
    """README and .env.example say: copy it to .env. Its inline comments are
    comments and its empty assignments leave the variable unset."""
    import os

    from kmsite.environment import read_dotenv

    example = Path(__file__).resolve().parent.parent / ".env.example"
    names = [line.split("=", 1)[0] for line in example.read_text().splitlines() if "=" in line and not line.startswith("#")]
    for name in names:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("KM_DOTENV", raising=False)
    read_dotenv(example)
    try:
        assert os.environ["DEBUG"] == "true"  # "true      # dev/test only; ..." before
        assert "KM_VAR_DIR" not in os.environ and "SECRET_KEY" not in os.environ  # "NAME=" is unset
        assert all("#" not in os.environ.get(name, "") for name in names), [
            (n, os.environ[n]) for n in names if "#" in os.environ.get(n, "")]
    finally:
        for name in names:
            os.environ.pop(name, None)
