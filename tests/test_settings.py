"""Settings read from the environment, checked in a fresh process (settings are read once
at import) the way a deployment starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_django(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    base.update(
        DJANGO_SETTINGS_MODULE="bzpeer.settings",
        DATABASE_URL=os.environ["DATABASE_URL"],
        REDIS_URL=os.environ["REDIS_URL"],
    )
    script = f"import django; django.setup()\n{code}"
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_of(names: list[str], env: dict[str, str]) -> dict:
    code = (
        "import json; from django.conf import settings\n"
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}, default=str))"
    )
    result = run_django(code, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_mail_setting_comes_from_the_environment(tmp_path):
    env = {
        "DEBUG": "true",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path),
        "EMAIL_HOST": "smtp.example.org",
        "EMAIL_PORT": "465",
        "EMAIL_HOST_USER": "bzpeer",
        "EMAIL_HOST_PASSWORD": "secret",
        "EMAIL_USE_TLS": "false",
        "EMAIL_USE_SSL": "true",
        "EMAIL_SSL_CERTFILE": "/etc/bzpeer/cert.pem",
        "EMAIL_SSL_KEYFILE": "/etc/bzpeer/key.pem",
        "EMAIL_TIMEOUT": "7",
        "DEFAULT_FROM_EMAIL": "BZPEER <noreply@example.org>",
        "SERVER_EMAIL": "errors@example.org",
        "EMAIL_SUBJECT_PREFIX": "[staging] ",
    }
    values = settings_of([name for name in env if name != "DEBUG"], env)
    expected = {k: v for k, v in env.items() if k != "DEBUG"}
    expected.update(EMAIL_PORT=465, EMAIL_USE_TLS=False, EMAIL_USE_SSL=True, EMAIL_TIMEOUT=7)
    assert values == expected


def test_the_file_mail_backend_writes_where_the_environment_says(tmp_path):
    env = {
        "DEBUG": "true",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
    }
    code = (
        "from django.core.mail import send_mail\n"
        "send_mail('Hello', 'Body text', None, ['ada@uni.test'])"
    )
    result = run_django(code, env)
    assert result.returncode == 0, result.stderr
    files = list((tmp_path / "mail").iterdir())
    assert len(files) == 1
    assert "Body text" in files[0].read_text() and "ada@uni.test" in files[0].read_text()


def test_redis_calls_give_up_within_250_ms_by_default():
    """Cache, rate limits and publishing a task: a hung Redis costs each call a quarter of a
    second at most (then the circuit breaker skips it for a while)."""
    values = settings_of(
        [
            "CACHES",
            "CELERY_BROKER_CONNECTION_TIMEOUT",
            "CELERY_BROKER_TRANSPORT_OPTIONS",
            "REDIS_BREAKER_SECONDS",
        ],
        {"DEBUG": "false", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "bzpeer.example.org"},
    )
    options = values["CACHES"]["default"]["OPTIONS"]
    transport = values["CELERY_BROKER_TRANSPORT_OPTIONS"]
    timeouts = [
        options["SOCKET_TIMEOUT"],
        options["SOCKET_CONNECT_TIMEOUT"],
        values["CELERY_BROKER_CONNECTION_TIMEOUT"],
        transport["socket_timeout"],
        transport["socket_connect_timeout"],
    ]
    assert all(0 < timeout <= 0.25 for timeout in timeouts), timeouts
    assert values["CACHES"]["default"]["BACKEND"] == "bzpeer.cache.ResilientRedisCache"
    assert values["REDIS_BREAKER_SECONDS"] > 0
