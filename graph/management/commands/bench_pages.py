"""`manage.py bench_pages` (`make bench-pages`): page throughput over HTTP. Not a test.

1. Its own database (BENCH_PAGES_DATABASE, default bzpeer_pages_bench): the synthetic
   corpus of `make bench` (BENCH_WORKS works, default 100,000; its planted 5,000-work
   researcher is the large profile) plus the demo data (Teven Le Scao, "Ministral 3"
   with 119 authors), imported once; ready graph slices for both profiles.
2. gunicorn (2 sync workers) with the production settings (DEBUG off, static files from
   collectstatic's manifest) and one more URL, /bench/hello/, the floor.
   A second gunicorn serves the same data with the code before the page cache (the commit
   this branch started from, or BENCH_BASELINE), exported with `git archive`.
3. wrk (/usr/bin/wrk; 16 connections, BENCH_SECONDS per page) against the floor and each
   page, warm: anonymous, signed in, a 304 revalidation; requests/s, ratio to the floor,
   p50/p99, and the same page "before". Then "cold": the first request after a change (a
   version bump), one request at a time, against the same page from the code before.
4. Prints the table and writes it into docs/benchmarks.md (between its markers).
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.test.utils import override_settings
from django.utils import timezone
from django.utils.crypto import get_random_string

from graph.bench import wrk
from graph.management.commands.bench_graph import Command as GraphBench
from graph.management.commands.bench_graph import _cpu_model, _ram
from graph.services import build_slice
from profiles.models import Researcher
from works.importer import import_openalex
from works.models import Work

REPORT = Path(settings.BASE_DIR) / "docs" / "benchmarks.md"
START, END = "<!-- bench-pages:start -->", "<!-- bench-pages:end -->"
DEMO = Path(settings.BASE_DIR) / "bzpeer" / "demo_data"
PORT = int(os.environ.get("BENCH_PORT", 8765))
GZIP = {"Accept-Encoding": "gzip"}
HTMX = {"HX-Request": "true"}
# Ratios to the floor the pages must reach (warm), by case.
TARGETS = {"profile": 0.5, "signed-in profile": 0.2, "slice": 0.6, "work": 0.4, "304": 0.7}
COLD_RUNS = 30
BASELINE_PORT = PORT + 1
SERVER_SECRET_KEY = "bench-only-" + "x" * 40


@dataclass(frozen=True)
class Row:
    label: str
    result: wrk.WrkResult
    target: float | None
    before: wrk.WrkResult | None


@dataclass(frozen=True)
class ColdRow:
    label: str
    after_change_ms: list[float]
    uncached_ms: list[float]


class Command(BaseCommand):
    help = "Requests/s of the public pages through gunicorn, against a hello view (wrk)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--works", type=int, default=int(os.environ.get("BENCH_WORKS", 100_000))
        )
        parser.add_argument(
            "--database", default=os.environ.get("BENCH_PAGES_DATABASE", "bzpeer_pages_bench")
        )
        parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", 10)))
        parser.add_argument("--connections", type=int, default=16)
        parser.add_argument("--no-report", action="store_true", help="do not touch docs/")

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        if not os.access(wrk.WRK, os.X_OK):
            self.say(f"No wrk at {wrk.WRK}: apt-get install -y wrk")
            sys.exit(1)
        graph = GraphBench()
        graph.stdout, graph.stderr = self.stdout, self.stderr
        graph.switch_database(options["database"])
        corpus_id = f"bench corpus: works={options['works']} seed=42 v2"
        if graph.loaded(corpus_id) is None:
            graph.build_corpus(options["works"], corpus_id)
        subjects = self.prepare()
        cookie = self.signed_in_cookie()
        self.collect_static(settings.BASE_DIR, "graph.bench.pages_settings")
        baseline_dir, self.baseline_ref = self.export_baseline()
        self.collect_static(baseline_dir, "bzpeer.settings")
        servers = [
            self.start_gunicorn(settings.BASE_DIR, "graph.bench.pages_settings", PORT),
            self.start_gunicorn(baseline_dir, "bzpeer.settings", BASELINE_PORT),
        ]
        try:
            rows, cold = self.measure(subjects, cookie, options["seconds"], options["connections"])
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
            shutil.rmtree(baseline_dir, ignore_errors=True)
        report = self.render(rows, cold, options)
        self.say("\n" + report)
        if not options["no_report"]:
            write_report(report)
            self.say(f"Written to {REPORT.relative_to(settings.BASE_DIR)}")

    # --- data and server -------------------------------------------------------------------

    def prepare(self) -> dict[str, Any]:
        if not Researcher.objects.filter(source_id="urn:bzpeer:seed:A1").exists():
            self.say("Importing the demo data…")
            import_openalex([DEMO / "openalex_demo", DEMO / "seed_profile"])
        teven = Researcher.objects.get(source_id="urn:bzpeer:seed:A1")
        large = Researcher.objects.get(display_name="Planted 5000")
        for researcher in (teven, large):
            build_slice(researcher_id=researcher.pk)
        work = Work.objects.filter(title="Ministral 3").order_by("-authors_count").first()
        return {"teven": teven, "large": large, "work": work}

    def signed_in_cookie(self) -> str:
        user, _ = get_user_model().objects.get_or_create(
            username="bench-reader", defaults={"email": "bench-reader@example.org"}
        )
        # Signed with the server's key, as its login would have.
        with override_settings(SECRET_KEY=SERVER_SECRET_KEY):
            session = SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
        # And the CSRF cookie a browser keeps from its sign-in form: without it every
        # response would make a new secret and set the cookie again.
        csrf_secret = get_random_string(CSRF_SECRET_LENGTH, allowed_chars=CSRF_ALLOWED_CHARS)
        return (
            f"{settings.SESSION_COOKIE_NAME}={session.session_key};"
            f" {settings.CSRF_COOKIE_NAME}={csrf_secret}"
        )

    def server_env(self, settings_module: str) -> dict[str, str]:
        db = connection.settings_dict
        host = db.get("HOST") or (db.get("OPTIONS") or {}).get("host") or "127.0.0.1"
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DEBUG": "false",
            "SECRET_KEY": SERVER_SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Plain http on loopback: no redirect, HSTS or secure cookies (the production
            # default redirects every request to https when DEBUG is off).
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "0",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "DATABASE_URL": f"postgres://{auth}@{host}:{db.get('PORT') or 5432}/{db['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "LOG_LEVEL": "WARNING",
        }

    def export_baseline(self) -> tuple[Path, str]:
        """The code before the page cache (BENCH_BASELINE, default: where this branch left
        main), exported to a temporary directory: the "before" of every figure."""
        base = settings.BASE_DIR

        def git(*args: str) -> str:
            return subprocess.run(
                ["git", *args], cwd=base, capture_output=True, text=True, check=True
            ).stdout.strip()

        ref = os.environ.get("BENCH_BASELINE") or git("merge-base", "HEAD", "main")
        directory = Path(tempfile.mkdtemp(prefix="bzpeer-baseline-"))
        archive = subprocess.run(
            ["git", "archive", ref], cwd=base, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)
        (directory / "node_modules").symlink_to(Path(base) / "node_modules")
        return directory, git("rev-parse", "--short", ref)

    def collect_static(self, directory: Path, settings_module: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=directory,
            env=self.server_env(settings_module),
            check=True,
        )

    def start_gunicorn(self, directory: Path, settings_module: str, port: int) -> subprocess.Popen:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        server = subprocess.Popen(
            [
                str(gunicorn),
                "bzpeer.wsgi:application",
                "--workers=2",
                "--worker-class=sync",
                f"--bind=127.0.0.1:{port}",
                "--log-level=warning",
            ],
            cwd=directory,
            env=self.server_env(settings_module),
        )
        for _ in range(150):
            try:
                if self.fetch("/", port=port)[0] == 200:
                    return server
            except OSError:
                time.sleep(0.2)
        server.terminate()
        raise RuntimeError(f"gunicorn in {directory} did not answer")

    def fetch(
        self, path: str, headers: dict[str, str] | None = None, *, port: int = PORT
    ) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), b""

    # --- measurements ----------------------------------------------------------------------

    def measure(
        self, subjects: dict[str, Any], cookie: str, seconds: int, connections: int
    ) -> tuple[list[Row], list[ColdRow]]:
        teven, large, work = subjects["teven"], subjects["large"], subjects["work"]
        profile = teven.get_absolute_url()
        signed_in = {"Cookie": cookie}
        slice_url = f"/researchers/{teven.pk}/graph/slice/"
        works_url = f"/researchers/{teven.pk}/works/?sort=oldest"
        big = f"{large.works_count:,}-work researcher"
        cases: list[tuple[str, str, dict[str, str], str | None]] = [
            ("hello (the floor)", "/bench/hello/", {}, None),
            ("profile, Teven Le Scao, anonymous", profile, GZIP, "profile"),
            (
                "profile, Teven Le Scao, signed in",
                profile,
                {**GZIP, **signed_in},
                "signed-in profile",
            ),
            ("304 revalidation, profile Teven Le Scao", profile, GZIP, "304"),
            ("ready slice fragment, Teven Le Scao", slice_url, {**GZIP, **HTMX}, "slice"),
            ("works list fragment, Teven Le Scao", works_url, {**GZIP, **HTMX}, None),
            (
                f"work page, Ministral 3 ({work.authors_count} authors), anonymous",
                work.get_absolute_url(),
                GZIP,
                "work",
            ),
            ("explorer, Teven Le Scao, anonymous", f"/researchers/{teven.pk}/graph/", GZIP, None),
            (f"profile, {big}, anonymous", large.get_absolute_url(), GZIP, None),
            (f"profile, {big}, signed in", large.get_absolute_url(), {**GZIP, **signed_in}, None),
        ]
        rows = []
        for label, path, headers, target in cases:
            if target == "304":
                status, response_headers, _ = self.fetch(path, GZIP)
                headers = {**GZIP, "If-None-Match": response_headers["ETag"]}
                assert self.fetch(path, headers)[0] == 304
            else:
                status, _, _ = self.fetch(path, headers)  # warm: the first rendering is cached
                assert status == 200, (label, status)
            result = wrk.run(
                f"http://127.0.0.1:{PORT}{path}",
                seconds=seconds,
                connections=connections,
                headers=headers,
            )
            before = None
            if "If-None-Match" not in headers and path != "/bench/hello/":
                assert self.fetch(path, headers, port=BASELINE_PORT)[0] == 200, label
                before = wrk.run(
                    f"http://127.0.0.1:{BASELINE_PORT}{path}",
                    seconds=seconds,
                    connections=connections,
                    headers=headers,
                )
            rows.append(Row(label, result, TARGETS.get(target or ""), before))
            self.say(
                f"{label}: {result.requests_per_second:,.0f} req/s,"
                f" p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms"
                + (f" (before: {before.requests_per_second:,.0f} req/s)" if before else "")
            )
        cold = [
            self.cold("profile, Teven Le Scao", teven, profile),
            self.cold("work page, Ministral 3", teven, work.get_absolute_url(), work=work),
            self.cold(
                f"profile, {large.works_count:,}-work researcher", large, large.get_absolute_url()
            ),
        ]
        return rows, cold

    def cold(
        self, label: str, researcher: Researcher, path: str, work: Work | None = None
    ) -> ColdRow:
        """The first request after a change (the change moves the page's version), one at a
        time; and the same page from the code before the cache (every request renders)."""
        after_change, uncached = [], []
        # Interleaved, so both servers meet the same load on this shared machine.
        for run in range(COLD_RUNS):
            if work is not None:
                Work.objects.filter(pk=work.pk).update(
                    cited_by_count=(work.cited_by_count or 0) + 1 + run % 2
                )
            else:
                Researcher.objects.filter(pk=researcher.pk).update(followers_count=1 + run % 2)
            started = time.perf_counter()
            assert self.fetch(path, GZIP)[0] == 200
            after_change.append((time.perf_counter() - started) * 1000)
            # The code before the cache renders every request: its uncached time.
            started = time.perf_counter()
            assert self.fetch(path, GZIP, port=BASELINE_PORT)[0] == 200
            uncached.append((time.perf_counter() - started) * 1000)
        if work is not None:
            Work.objects.filter(pk=work.pk).update(cited_by_count=work.cited_by_count)
        Researcher.objects.filter(pk=researcher.pk).update(followers_count=0)
        row = ColdRow(label, after_change, uncached)
        self.say(
            f"cold {label}: after a change p50 {median(after_change):.1f} ms,"
            f" uncached p50 {median(uncached):.1f} ms"
        )
        return row

    # --- the report ------------------------------------------------------------------------

    def render(self, rows: list[Row], cold: list[ColdRow], options: dict[str, Any]) -> str:
        floor = rows[0].result.requests_per_second
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            (version,) = cursor.fetchone()
        lines = [
            f"Run of {timezone.now():%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPU(s), {_ram()} RAM, "
            f"{platform.platform()}; CPU: {_cpu_model()}; {version.split(' on ')[0]}; "
            f"Python {platform.python_version()}; gunicorn 2 sync workers, DEBUG off; "
            f"wrk {options['connections']} connections, {options['seconds']} s a page, "
            f"`Accept-Encoding: gzip` on pages; database `{connection.settings_dict['NAME']}` "
            f"({Work.objects.count():,} works, {Researcher.objects.count():,} researchers).",
            "",
            f"Before: the same pages from the code this branch started from ({self.baseline_ref}),"
            " no page cache, in the same run on the same data (another gunicorn, same settings).",
            "",
            "| page (warm) | requests/s | × hello | p50 | p99 | before: req/s | × hello | p99 "
            "| target | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
        ]
        for row in rows:
            r = row.result
            ratio = r.requests_per_second / floor
            target = row.target
            verdict = f"≥ {target}×: {'met' if ratio >= target else 'MISSED'}" if target else ""
            b = row.before
            before = (
                f"{b.requests_per_second:,.0f} | {b.requests_per_second / floor:.2f} "
                f"| {b.p99_ms:.1f} ms"
                if b
                else " | | "
            )
            errors = r.errors + (b.errors if b else 0)
            lines.append(
                f"| {row.label} | {r.requests_per_second:,.0f} | {ratio:.2f} | {r.p50_ms:.1f} ms "
                f"| {r.p99_ms:.1f} ms | {before} | {verdict} | {errors} |"
            )
        lines += [
            "",
            f'Cold: one request at a time, {COLD_RUNS} runs each; "after a change" is the first '
            "request after a write moved the page's version (the page and its fragments render "
            'again, and are stored); "before" is the same page from the code before the cache. '
            "Target: after a change ≤ 2× before.",
            "",
            "| page (cold) | after a change p50 | p99 | before p50 | p99 | ratio (p50) |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for cold_row in cold:
            a, u = median(cold_row.after_change_ms), median(cold_row.uncached_ms)
            verdict = "met" if a <= 2 * u else "MISSED"
            lines.append(
                f"| {cold_row.label} | {a:.1f} ms | {p99(cold_row.after_change_ms):.1f} ms "
                f"| {u:.1f} ms | {p99(cold_row.uncached_ms):.1f} ms | {a / u:.2f} ({verdict}) |"
            )
        return "\n".join(lines)


def median(values: list[float]) -> float:
    return statistics.median(values)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * len(ordered) + 0.5) - 1)]


def write_report(report: str) -> None:
    block = f"{START}\n{report}\n{END}"
    text = REPORT.read_text()
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n# Benchmarks: pages\n\n" + block + "\n"
    REPORT.write_text(text)
