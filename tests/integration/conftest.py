"""A real Celery worker process for the tests that need one (integration and browser).

The worker is a subprocess on the real broker (REDIS_URL / CELERY_BROKER_URL) and on the
pytest-django test database, and it consumes a queue named for this session only, so two
runs (or a developer's own worker) never take each other's tasks. Tests that use it must
commit their rows (`transactional_db` or `live_server`): the worker reads them through its
own connection.

Outside CI a missing broker skips these tests; under CI=true it fails them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings

from bzpeer.celery import app as celery_app
from tests.waiting import wait_until  # also re-exported for the integration tests

WORKER_READY_SECONDS = 60
WORKER_STOP_SECONDS = 10
IDLE_WAIT_SECONDS = 30
IDLE_LOOKS = 3
LOG_TAIL_LINES = 200


def running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def broker_client():
    """The redis-py client kombu itself uses for the configured broker (any Redis URL form)."""
    connection = celery_app.connection_for_write()
    connection.ensure_connection(max_retries=1, timeout=2)
    return connection, connection.default_channel.client


def broker_keys(queue: str) -> list[str]:
    """The Redis keys kombu keeps for a queue: the list and its binding tables."""
    return [queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"]


def require_broker() -> None:
    """Skip (locally) or fail (CI) when the broker cannot be reached."""
    try:
        connection, client = broker_client()
        try:
            client.ping()
        finally:
            connection.release()
    except Exception as error:
        message = f"Redis broker at {celery_app.conf.broker_url} is unreachable: {error}"
        if running_in_ci():
            pytest.fail(message)
        pytest.skip(message)


def test_database_url() -> str:
    """DATABASE_URL for the test database that pytest-django created (same server, options)."""
    db = settings.DATABASES["default"]
    name = db["NAME"]
    original = os.environ.get("DATABASE_URL", "")
    if original:
        parts = urlsplit(original)
        return urlunsplit(parts._replace(path="/" + quote(name)))
    credentials = quote(db.get("USER") or "")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}@{host}{port}/{quote(name)}"


class WorkerProcess:
    """One `celery worker` subprocess (pool solo unless told: prefork runs each task in a
    child process) and its log file."""

    def __init__(
        self, *, queue: str, log_path: Path, env: dict[str, str], pool: str = "solo"
    ) -> None:
        self.queue = queue
        self.nodename = f"{queue}@localhost"
        self.log_path = log_path
        self.env = env
        self.pool = pool
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bzpeer",
            "worker",
            "--pool",
            self.pool,
            "--concurrency",
            "1",
            "--loglevel",
            "info",
            "--queues",
            self.queue,
            "--hostname",
            self.nodename,
            # Nothing to learn from other workers; starts faster.
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            argv,
            cwd=settings.BASE_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group, so stopping it can never touch anything else.
            start_new_session=True,
        )
        log.close()
        process = self.process

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(
                    f"Celery worker exited with {process.returncode} before it was "
                    f"ready:\n{self.log_tail()}"
                )
            return " ready." in self.log()

        try:
            wait_until(
                ready,
                timeout=WORKER_READY_SECONDS,
                interval=0.1,
                what="the Celery worker to be ready",
                explain=self.log_tail,
            )
        except pytest.fail.Exception:
            self.stop()
            raise

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def pids(self) -> list[int]:
        """The main process and its children (the prefork pool's processes)."""
        assert self.process is not None
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        found = children.read_text().split() if children.exists() else []
        return [pid, *map(int, found)]

    def kill(self) -> None:
        """SIGKILL the whole process group at once: no warm shutdown, nothing acked or
        rejected, as when a machine or container dies."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(WORKER_STOP_SECONDS)

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.process is not None
        # SIGTERM is Celery's warm shutdown: it finishes the task at hand, then exits.
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(WORKER_STOP_SECONDS)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def pending(self) -> int:
        """Messages on this worker's queue plus those it took but has not acked yet."""
        connection, client = broker_client()
        try:
            waiting = client.llen(self.queue)
            taken = 0
            for raw in client.hvals("unacked"):
                try:
                    _message, _exchange, routing_key = json.loads(raw)
                except (TypeError, ValueError):
                    continue
                taken += routing_key == self.queue
            return waiting + taken
        finally:
            connection.release()

    def wait_idle(self, timeout: float = IDLE_WAIT_SECONDS) -> None:
        """Wait until every task sent to this worker has run (tasks ack late, after the work).

        Kombu pops a message off the list before it files it under `unacked`, so a single
        look can fall between the two; idle means nothing pending on several looks in a row.
        To wait for one task's effect, poll for the effect instead (`wait_until`)."""
        quiet_looks = 0

        def quiet() -> bool:
            nonlocal quiet_looks
            quiet_looks = quiet_looks + 1 if self.pending() == 0 else 0
            return quiet_looks >= IDLE_LOOKS

        wait_until(quiet, timeout=timeout, interval=0.2, what="the worker to go idle")

    def forget_queue(self) -> None:
        """Drop the queue, its bindings and any message a killed worker left unacked from
        the broker: they were for this worker only."""
        connection, client = broker_client()
        try:
            client.delete(*broker_keys(self.queue))
            for tag, raw in client.hgetall("unacked").items():
                try:
                    _message, _exchange, routing_key = json.loads(raw)
                except (TypeError, ValueError):
                    continue
                if routing_key == self.queue:
                    client.hdel("unacked", tag)
                    client.zrem("unacked_index", tag)
        finally:
            connection.release()


# One worker per session, however many conftests hand the fixture out (tests/browser
# imports it from here; pytest would otherwise keep one session fixture per directory).
_worker: WorkerProcess | None = None


def _use_queue(queue: str) -> dict[str, object]:
    """Route this process's tasks to `queue`; returns what to put back afterwards."""
    previous = {
        "env": os.environ.get("CELERY_QUEUE"),
        "setting": settings.CELERY_TASK_DEFAULT_QUEUE,
        "conf": celery_app.conf.task_default_queue,
    }
    os.environ["CELERY_QUEUE"] = queue
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    # The app read its configuration already; routing asks app.conf on every send.
    celery_app.conf.task_default_queue = queue
    return previous


def _restore_queue(previous: dict[str, object]) -> None:
    if previous["env"] is None:
        os.environ.pop("CELERY_QUEUE", None)
    else:
        os.environ["CELERY_QUEUE"] = str(previous["env"])
    settings.CELERY_TASK_DEFAULT_QUEUE = previous["setting"]
    celery_app.conf.task_default_queue = previous["conf"]


@pytest.fixture(scope="session")
def celery_worker_process(
    request: pytest.FixtureRequest,
    django_db_setup: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WorkerProcess]:
    """The session's worker, started once the test database exists."""
    global _worker
    if _worker is not None and _worker.alive():
        yield _worker
        return
    require_broker()
    queue = f"bzpeer-test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bzpeer.settings",
        "DATABASE_URL": test_database_url(),
        "CELERY_QUEUE": queue,
        # Short-lived connections: the test database is dropped when the session ends.
        "CONN_MAX_AGE": "0",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    worker = WorkerProcess(queue=queue, log_path=log_path, env=env)
    worker.start()
    _worker = worker
    try:
        yield worker
    finally:
        worker.stop()
        _worker = None
        with suppress(Exception):  # the broker may be gone by now; the keys are harmless
            worker.forget_queue()
        if request.session.testsfailed:
            terminal = request.config.pluginmanager.get_plugin("terminalreporter")
            if terminal is not None:
                terminal.write_sep("-", f"celery worker log ({log_path})")
                terminal.write_line(worker.log_tail())


@pytest.fixture
def celery_worker(celery_worker_process: WorkerProcess) -> Iterator[WorkerProcess]:
    """The running worker; the test's tasks are routed to it, and after the test it waits
    for the worker to finish what the test queued, so the database flush never races a
    task. Only tests that ask for the worker route tasks to it: a task from any later test
    would otherwise run beside that test's own writes (a TRUNCATE then deadlocks)."""
    if not celery_worker_process.alive():
        pytest.fail(f"The Celery worker died:\n{celery_worker_process.log_tail()}")
    previous = _use_queue(celery_worker_process.queue)
    try:
        yield celery_worker_process
        celery_worker_process.wait_idle()
    finally:
        _restore_queue(previous)


@pytest.fixture
def idle_queue() -> Iterator[str]:
    """Route tasks to a queue nobody consumes, to look at what was queued."""
    require_broker()
    queue = f"bzpeer-test-idle-{uuid.uuid4().hex[:12]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        yield queue
    finally:
        celery_app.conf.task_default_queue = previous
        connection, client = broker_client()
        try:
            client.delete(*broker_keys(queue))
        finally:
            connection.release()


@pytest.fixture
def broker_down() -> Iterator[None]:
    """Point the app's broker at a closed port (nothing listens on port 1)."""
    previous = celery_app.conf.broker_url
    previous_env = os.environ.get("CELERY_BROKER_URL")
    _switch_broker("redis://127.0.0.1:1/0")
    try:
        yield
    finally:
        _switch_broker(previous)
        if previous_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = previous_env


def _switch_broker(url: str) -> None:
    celery_app.conf.broker_url = url
    # Celery reads the CELERY_BROKER_URL environment variable before its own setting
    # (`make test` exports it), so the variable has to move too.
    os.environ["CELERY_BROKER_URL"] = url
    # The connection and producer pools were made for the old URL; the app rebuilds them
    # from app.conf on next use (the same reset Celery does after a fork).
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attach the worker's log to the report of a failed test that used it."""
    report = yield
    uses_worker = "celery_worker" in item.fixturenames or item.get_closest_marker("worker")
    if report.failed and _worker is not None and uses_worker:
        report.sections.append(("celery worker log (tail)", _worker.log_tail()))
    return report
