"""`make drill`: load and fault drills on the production shape (not a test; CI never runs it).

1. Its own database (DRILL_DATABASE, default bzpeer_drill, made afresh on DATABASE_URL's
   server) with the demo data, its own redis-server on a free port (so stopping and
   SIGSTOPping it touches nothing else), a Celery worker (prefork) and gunicorn with
   WEB_CONCURRENCY workers, DEBUG off, all on 127.0.0.1.
2. Phases, each a bounded wrk run over a realistic mix (profile pages, their works and
   graph fragments, work pages, signed-in follows) against 127.0.0.1 only:
   load (60 s, 50 connections); Redis stopped; Redis hung (SIGSTOP); Redis back; the
   worker SIGKILLed (main process and children) while slices build; Postgres connections
   terminated (pg_terminate_backend); recovered (the load again, nothing restarted but the
   killed worker).
3. Prints a table (requests, errors, p50/p99/max per phase, whether every slice finished)
   and writes it with the machine and the command into docs/reliability.md.

Goals: 0 errors and p99 <= 250 ms under load; during faults no request over 1 s and no 5xx
except requests caught mid-query by a terminated connection.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bzpeer.localrun import demo_import_paths

BASE_DIR = Path(__file__).resolve().parent.parent
REPORT = BASE_DIR / "docs" / "reliability.md"
HOST = "127.0.0.1"

# wrk: a request list read once per thread, taken round-robin from a random start; counts
# of 4xx and 5xx kept per thread and summed in `done`, which prints one JSON line.
WRK_SCRIPT = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  reqs = {}
  for line in io.lines(args[1]) do
    local method, path, hx, cookie, csrf = line:match("^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$")
    local headers = {}
    if hx == "1" then headers["HX-Request"] = "true" end
    if cookie ~= "" then headers["Cookie"] = cookie end
    local body = nil
    if method == "POST" then
      headers["X-CSRFToken"] = csrf
      headers["Content-Type"] = "application/x-www-form-urlencoded"
      body = ""
    end
    table.insert(reqs, wrk.format(method, path, headers, body))
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  i = math.random(#reqs)
  s4, s5 = 0, 0
end
function request() i = i % #reqs + 1; return reqs[i] end
function response(status)
  if status >= 500 then s5 = s5 + 1 elseif status >= 400 then s4 = s4 + 1 end
end
function done(summary, latency, requests)
  local s4t, s5t = 0, 0
  for _, t in ipairs(threads) do s4t = s4t + t:get("s4"); s5t = s5t + t:get("s5") end
  local e = summary.errors
  io.write(string.format(
    '\nDRILL {"requests":%d,"seconds":%.2f,"s4":%d,"s5":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"timeout":%d,"p50":%.1f,"p99":%.1f,"max":%.1f}\n',
    summary.requests, summary.duration / 1e6, s4t, s5t, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
"""

# Run inside `manage.py shell`: users with sessions and CSRF secrets for the signed-in part
# of the mix, and the URLs of the demo data. Prints one JSON line.
PREPARE = r"""
import json
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.utils.crypto import get_random_string
from profiles.models import Researcher
from works.models import Work

User = get_user_model()
users = []
for n in range(USERS):
    email = f"drill{n}@drill.test"
    user, _ = User.objects.get_or_create(username=f"drill{n}", defaults={"email": email})
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    users.append([session.session_key, get_random_string(32)])
researchers = [
    [r.pk, r.get_absolute_url()]
    for r in Researcher.objects.filter(merged_into__isnull=True, is_stub=False)
    .order_by("-works_count")[:RESEARCHERS]
]
works = list(Work.objects.order_by("-cited_by_count").values_list("pk", flat=True)[:WORKS])
print("DRILLDATA " + json.dumps({"users": users, "researchers": researchers, "works": works}))
"""


def say(message: str) -> None:
    print(f"[drill] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((HOST, port)) == 0


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(0.2)


# --- the pieces --------------------------------------------------------------------------------


class Process:
    """A child in its own process group, so a signal reaches it and its children only."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log = name, argv, env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=BASE_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def signal(self, signum: int) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signum)

    def stop(self) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait(10)


@dataclass
class Row:
    phase: str
    requests: int = 0
    errors: int = 0
    s4: int = 0
    s5: int = 0
    p50: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    slices: str = ""
    goal: str = ""
    notes: list[str] = field(default_factory=list)


class Drill:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="bzpeer-drill-"))
        server = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x"))
        self.database = args.database
        self.db_url = urlunsplit(server._replace(path=f"/{self.database}"))
        self.admin_url = urlunsplit(server._replace(path="/postgres"))
        self.redis_port = free_port()
        self.web_port = free_port()
        redis_url = f"redis://{HOST}:{self.redis_port}/0"
        self.env = {
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")},
            "DJANGO_SETTINGS_MODULE": "bzpeer.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": HOST,
            # Plain http on loopback: no redirect, HSTS or secure cookies.
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "0",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "DATABASE_URL": self.db_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        self.redis = Process(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            self.env,
            self.tmp / "redis.log",
        )
        self.worker = Process(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "bzpeer",
                "worker",
                "-l",
                "info",
                "--concurrency",
                str(args.worker_concurrency),
                "--without-gossip",
                "--without-mingle",
            ],
            self.env,
            self.tmp / "worker.log",
        )
        self.web = Process(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "bzpeer.wsgi",
                f"--bind={HOST}:{self.web_port}",
                f"--workers={args.web_workers}",
                "--timeout=30",
                "--backlog=256",
            ],
            self.env,
            self.tmp / "web.log",
        )
        self.rows: list[Row] = []
        self.data: dict = {}
        self.machine_text = ""

    # --- setup ------------------------------------------------------------------------------

    def manage(self, *args: str, capture: bool = False) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env,
            check=True,
            text=True,
            capture_output=capture,
        )
        return result.stdout if capture else ""

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def fresh_database(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def start_redis(self) -> None:
        self.redis.start()
        wait_for(lambda: port_open(self.redis_port), 10, "redis-server")

    def start_worker(self) -> None:
        offset = self.worker.log.stat().st_size if self.worker.log.exists() else 0

        def ready() -> bool:
            with self.worker.log.open("rb") as log:
                log.seek(offset)
                return b" ready." in log.read()

        self.worker.start()
        wait_for(ready, 60, "the worker")

    def start_web(self) -> None:
        self.web.start()
        wait_for(lambda: port_open(self.web_port), 60, "gunicorn")

    def setup(self) -> None:
        say(f"database {self.database}: fresh, migrate, demo data, static files")
        self.fresh_database()
        self.start_redis()
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("import_openalex", *(str(p.relative_to(BASE_DIR)) for p in demo_import_paths()))
        self.manage("collectstatic", "--noinput", "-v", "0")
        code = PREPARE.replace("USERS", str(self.args.users)).replace("RESEARCHERS", "200")
        code = code.replace("WORKS", "400")
        out = self.manage("shell", "-c", code, capture=True)
        self.data = json.loads(out.split("DRILLDATA ", 1)[1].splitlines()[0])
        say(
            f"{len(self.data['researchers'])} profiles, {len(self.data['works'])} works, "
            f"{len(self.data['users'])} signed-in users"
        )
        say(
            f"redis :{self.redis_port}, worker x{self.args.worker_concurrency}, "
            f"gunicorn x{self.args.web_workers} on {HOST}:{self.web_port}"
        )
        self.start_worker()
        self.start_web()

    # --- traffic ----------------------------------------------------------------------------

    def request_file(self, researchers: list | None = None) -> Path:
        """The mix: per profile its page, works fragment (page 2), graph fragment; work pages;
        every tenth entry a signed-in follow."""
        lines = []
        users = self.data["users"]
        researchers = researchers or self.data["researchers"]
        works = self.data["works"]
        for n, (pk, url) in enumerate(researchers):
            lines.append(f"GET|{url}|0||")
            lines.append(f"GET|/researchers/{pk}/works/?page=2|1||")
            lines.append(f"GET|/researchers/{pk}/graph/slice/|1||")
            lines.append(f"GET|/works/{works[n % len(works)]}/|0||")
            if n % 3 == 0:
                session, csrf = users[n % len(users)]
                cookie = f"sessionid={session}; csrftoken={csrf}"
                lines.append(f"POST|/researchers/{pk}/follow/|1|{cookie}|{csrf}")
                lines.append(f"GET|{url}|0|{cookie}|")
        path = self.tmp / f"requests-{len(lines)}.txt"
        path.write_text("\n".join(lines) + "\n")
        return path

    def wrk(self, seconds: float, connections: int, requests: Path) -> dict:
        script = self.tmp / "mix.lua"
        script.write_text(WRK_SCRIPT)
        threads = max(1, min(2, connections))
        result = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{int(seconds)}s",
                "--timeout",
                "5s",
                "-s",
                str(script),
                f"http://{HOST}:{self.web_port}",
                "--",
                str(requests),
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
        for line in result.stdout.splitlines():
            if line.startswith("DRILL "):
                return json.loads(line[6:])
        raise RuntimeError(f"wrk printed no summary:\n{result.stdout}\n{result.stderr}")

    def phase(
        self,
        name: str,
        seconds: float,
        connections: int,
        *,
        during: Sequence[tuple[float, Callable[[], None]]] = (),
        requests: Path | None = None,
        goal: str = "fault",
    ) -> Row:
        say(f"phase: {name} ({seconds:.0f} s, {connections} connections)")
        timers = [threading.Timer(at, action) for at, action in during]
        for timer in timers:
            timer.start()
        try:
            stats = self.wrk(seconds, connections, requests or self.request_file())
        finally:
            for timer in timers:
                timer.join()
        socket_errors = stats["connect"] + stats["read"] + stats["write"] + stats["timeout"]
        row = Row(
            phase=name,
            requests=stats["requests"],
            errors=stats["s5"] + socket_errors,
            s4=stats["s4"],
            s5=stats["s5"],
            p50=stats["p50"],
            p99=stats["p99"],
            max=stats["max"],
        )
        if socket_errors:
            row.notes.append(
                f"socket errors: connect {stats['connect']}, read {stats['read']}, "
                f"write {stats['write']}, timeout {stats['timeout']}"
            )
        if goal == "load":
            met = row.errors == 0 and row.p99 <= 250
            row.goal = "met" if met else "NOT met (0 errors, p99 <= 250 ms)"
        else:
            met = row.max < 1000 and (row.errors == 0 or goal == "pg")
            row.goal = "met" if met else "NOT met (no request over 1 s, no 5xx)"
            if goal == "pg" and row.errors:
                row.goal += (
                    f"; {row.errors} request(s) caught mid-query by the terminated connections"
                )
        self.rows.append(row)
        say(
            f"  {row.requests} requests, {row.errors} errors, 4xx {row.s4}, "
            f"p50 {row.p50:.0f} ms, p99 {row.p99:.0f} ms, max {row.max:.0f} ms -> {row.goal}"
        )
        return row

    # --- slices -----------------------------------------------------------------------------

    def slice_counts(self) -> dict[str, int]:
        return dict(self.sql("SELECT status, count(*) FROM graph_graphslice GROUP BY status"))

    def poll_open_pages(self) -> None:
        """What the pages still showing a slice do: the "Building" fragment polls itself and
        a failed one offers Retry; both ask for the fragment again."""
        rows = self.sql("SELECT researcher_id FROM graph_graphslice WHERE status <> 'ready'")
        for (pk,) in rows[:100]:
            request = urllib.request.Request(
                f"http://{HOST}:{self.web_port}/researchers/{pk}/graph/slice/",
                headers={"HX-Request": "true"},
            )
            with contextlib.suppress(OSError):
                urllib.request.urlopen(request, timeout=5).read()

    def wait_slices(self, timeout: float) -> str:
        """Wait (polling the fragments as open pages do) until every slice is ready."""
        deadline = time.monotonic() + timeout
        while True:
            counts = self.slice_counts()
            unfinished = sum(n for status, n in counts.items() if status != "ready")
            if not unfinished or time.monotonic() > deadline:
                break
            self.poll_open_pages()
            time.sleep(2)
        text = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none yet"
        return ("all ready" if not unfinished else f"NOT all ready after {timeout:.0f} s") + (
            f" ({text})"
        )

    # --- faults -----------------------------------------------------------------------------

    def kill_worker(self) -> None:
        say("  SIGKILL to the worker's main process and children")
        self.worker.signal(signal.SIGKILL)

    def terminate_connections(self) -> None:
        rows = self.sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.database,),
        )
        say(f"  pg_terminate_backend: {rows[0][0]} connection(s)")

    def run(self) -> int:
        load, fault = self.args.seconds, self.args.fault_seconds
        conns = self.args.connections
        self.setup()
        say("warm-up: every profile's graph slice asked for and built, then a short run")
        for pk, _ in self.data["researchers"]:
            request = urllib.request.Request(
                f"http://{HOST}:{self.web_port}/researchers/{pk}/graph/slice/",
                headers={"HX-Request": "true"},
            )
            with contextlib.suppress(OSError):
                urllib.request.urlopen(request, timeout=10).read()
        first = self.wait_slices(self.args.slice_wait)
        self.wrk(5, 10, self.request_file())
        say(f"  slices: {first}")
        self.phase("load", load, conns, goal="load").slices = first

        self.phase("redis stopped", fault, 10, during=[(1, lambda: self.redis.stop())])
        self.start_redis()
        self.phase(
            "redis hung (SIGSTOP)",
            fault,
            10,
            during=[(1, lambda: self.redis.signal(signal.SIGSTOP))],
        )
        self.redis.signal(signal.SIGCONT)
        self.phase("redis back", fault, 10).slices = self.wait_slices(self.args.slice_wait)

        # Slices to rebuild: drop some, so the fragments queue builds, and kill the worker
        # while they run.
        victims = self.data["researchers"][:40]
        self.sql(
            "DELETE FROM graph_graphslice WHERE researcher_id = ANY(%s)",
            ([pk for pk, _ in victims],),
        )
        worker_row = self.phase(
            "worker SIGKILLed mid-build",
            fault,
            10,
            requests=self.request_file(victims),
            during=[(2, self.kill_worker), (5, self.start_worker)],
        )
        worker_row.slices = self.wait_slices(self.args.slice_wait)

        self.phase(
            "postgres connections terminated",
            fault,
            10,
            goal="pg",
            during=[
                (2, self.terminate_connections),
                (6, self.terminate_connections),
                (10, self.terminate_connections),
            ],
        )
        self.phase(
            "recovered (load again)", load / 2, conns, goal="load"
        ).slices = self.wait_slices(10)
        self.report()
        return 0

    # --- output -----------------------------------------------------------------------------

    def table(self) -> str:
        lines = [
            "| phase | requests | errors (5xx + socket) | 4xx | p50 ms | p99 ms | max ms | "
            "slices | goal |",
            "|---|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for r in self.rows:
            lines.append(
                f"| {r.phase} | {r.requests} | {r.errors} | {r.s4} | {r.p50:.0f} | {r.p99:.0f} "
                f"| {r.max:.0f} | {r.slices or '-'} | {r.goal}{'; ' if r.notes else ''}"
                f"{'; '.join(r.notes)} |"
            )
        return "\n".join(lines)

    def machine(self) -> str:
        cpus = os.cpu_count()
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
        return (
            f"{platform.platform()}, {cpus} CPU(s), load average before the run {load}; "
            f"Python {platform.python_version()}; {(wrk_version.splitlines() or ['wrk'])[0]}; "
            f"gunicorn {self.args.web_workers} sync workers, Celery worker concurrency "
            f"{self.args.worker_concurrency}, Postgres and redis-server on the same machine."
        )

    def report(self) -> None:
        table = self.table()
        print("\n" + table + "\n", flush=True)
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        command = " ".join(["make drill", *sys.argv[1:]]) if sys.argv[1:] else "make drill"
        section = (
            f"## Last run: {when}\n\n"
            f"Command: `{command}` ({self.args.seconds:.0f} s load at {self.args.connections} "
            f"connections, {self.args.fault_seconds:.0f} s per fault phase at 10).\n\n"
            f"Machine: {self.machine_text}\n\n{table}\n"
        )
        if self.args.write:
            text = REPORT.read_text() if REPORT.exists() else ""
            head = text.split("## Last run:", 1)[0] if "## Last run:" in text else text
            REPORT.write_text(head.rstrip() + "\n\n" + section)
            say(f"written to {REPORT.relative_to(BASE_DIR)}")

    def cleanup(self) -> None:
        for process in (self.web, self.worker, self.redis):
            process.stop()
        if self.args.keep:
            say(f"logs kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make drill", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="load phase length")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--fault-seconds", type=float, default=15)
    parser.add_argument(
        "--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 3))
    )
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--slice-wait", type=float, default=120)
    parser.add_argument("--database", default=os.environ.get("DRILL_DATABASE", "bzpeer_drill"))
    parser.add_argument("--no-write", dest="write", action="store_false")
    parser.add_argument("--keep", action="store_true", help="keep the logs")
    args = parser.parse_args(argv)
    for tool in ("wrk", "redis-server"):
        if shutil.which(tool) is None:
            print(f"make drill needs `{tool}` (apt-get install -y {tool.split('-')[0]})")
            return 2
    drill = Drill(args)
    drill.machine_text = drill.machine()  # before the run: the load it found

    def stop(signum, frame):  # Ctrl-C: stop what we started
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        return drill.run()
    except KeyboardInterrupt:
        return 130
    finally:
        drill.cleanup()


if __name__ == "__main__":
    sys.exit(main())
