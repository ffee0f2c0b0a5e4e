"""Public pages served from a cache of their rendered HTML, always fresh.

1. Versions live in the database (`ContentVersion`, one row per researcher or work page),
   moved by Postgres triggers on every table whose rows a page shows (triggers.py), in the
   writing transaction. No service has to remember the cache; no time-based expiry.
2. A page's key = the database epoch + the code release + the record's version + the
   variant (sort, page, HTMX or not, host). The version is read by the same query that
   loads the record, so a cache hit costs that one query (plus the session's, when the
   visitor has a session cookie).
3. Anonymous visitors get the whole response from the cache, with an ETag and a
   Last-Modified from the version (304 on a match) and a short public Cache-Control.
   Anonymous pages carry no CSRF token and no other secret: a rendering that asked for a
   token or set a cookie is never stored (responses.serve checks), so nothing secret is
   shared or compressed beside reflected input.
4. Signed-in visitors get the same page with their own parts (follow state, claim state,
   owner tools, the header) rendered around the cached fragments; their responses are
   `private, no-store`.
"""
