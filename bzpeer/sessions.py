"""The session engine: Django's database sessions, read with a prepared statement.

Every signed-in request reads its session row first; through the ORM, compiling that
query cost more than Postgres spends answering it. Writes, expiry and everything else
are Django's (`django.contrib.sessions.backends.db`), so the table and its rows stay
the same. Sessions stay in Postgres rather than Redis: a logout must end the session
even while Redis is failing (a cached copy left behind would sign the cookie in again).
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from bzpeer.pagecache.loading import fetch_one

SESSION_SQL = (
    "SELECT session_data, expire_date FROM django_session"
    " WHERE session_key = %s AND expire_date > %s"
)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Session | None:
        key = self.session_key
        row = fetch_one(SESSION_SQL, [key, timezone.now()]) if key else None
        if key is None or row is None:
            # As Django's: a key with no live row is forgotten (a new one is made on save).
            self._session_key = None
            return None
        return Session(session_key=key, session_data=row[0], expire_date=row[1])
