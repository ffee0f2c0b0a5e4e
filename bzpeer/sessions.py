"""The session engine: Django's database sessions, read with a prepared statement that
also reads the signed-in user.

Every signed-in request reads its session row, then its user row; through the ORM,
compiling those queries cost more than Postgres spends answering them, and they were two
round trips. The session table carries the user's id in a column of its own (`user_id`,
written whenever a session is saved, added by bzpeer/privacy/migrations/0002), so one
statement reads both; the user is handed to the authentication backends
(bzpeer.accounts) through `take_loaded_user`. Writes, expiry and everything else are
Django's (`django.contrib.sessions.backends.db`): the table and its rows stay the same,
and a session saved before the column existed is read as before (its user by a second
query). Sessions stay in Postgres rather than Redis: a logout must end the session even
while Redis is failing (a cached copy left behind would sign the cookie in again).
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache
from typing import Any

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from bzpeer.pagecache.loading import fetch_one, record_columns, record_from_row

# The user read with the last session this thread (or task) loaded: (user id, user or
# None). Set on every load, so it never outlives the request that loaded it by more than
# the next load, and taken (cleared) by the backend that uses it.
_loaded_user: ContextVar[tuple[int, Any] | None] = ContextVar("bzpeer_loaded_user", default=None)


@cache
def session_sql() -> str:
    user = get_user_model()
    return (
        f"SELECT s.session_data, s.expire_date, s.user_id, {record_columns(user, 'u')}"
        f' FROM django_session s LEFT JOIN "{user._meta.db_table}" u'
        f' ON u."{user._meta.pk.column}" = s.user_id'
        " WHERE s.session_key = %s AND s.expire_date > %s"
    )


def take_loaded_user(user_id: int) -> tuple[bool, Any]:
    """(True, the user or None) when the session this request loaded read user `user_id`
    along with it; (False, None) otherwise (read it the usual way)."""
    loaded = _loaded_user.get()
    _loaded_user.set(None)
    if loaded is None or loaded[0] != user_id:
        return False, None
    return True, loaded[1]


class SessionStore(DatabaseSessionStore):
    # The user id the row names, as last read or written (None: none, or not read yet).
    _stored_user_id: int | None = None

    def _get_session_from_db(self) -> Session | None:
        _loaded_user.set(None)
        key = self.session_key
        row = fetch_one(session_sql(), [key, timezone.now()]) if key else None
        if key is None or row is None:
            # As Django's: a key with no live row is forgotten (a new one is made on save).
            self._session_key = None
            return None
        self._stored_user_id = row[2]
        user = record_from_row(get_user_model(), row[3:])
        if user is not None:
            _loaded_user.set((user.pk, user))
        return Session(session_key=key, session_data=row[0], expire_date=row[1])

    def save(self, must_create: bool = False) -> None:
        super().save(must_create=must_create)
        if self.session_key is None:
            return
        named = self.get(SESSION_KEY)
        try:
            user_id = int(named) if named is not None else None
        except (TypeError, ValueError):
            user_id = None
        if must_create:
            self._stored_user_id = None  # a new row names no user yet
        if user_id == self._stored_user_id:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE django_session SET user_id = %s WHERE session_key = %s",
                [user_id, self.session_key],
            )
        self._stored_user_id = user_id
