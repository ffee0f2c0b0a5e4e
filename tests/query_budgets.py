"""Exact query budgets of every page and fragment, in one table.

A test checks a budget with the `query_budget` fixture (tests/conftest.py):

    with query_budget("profile.anonymous"):
        response = client.get(url)

which is pytest-django's `django_assert_num_queries` with the number from this table, so
a page that gains (or loses) a query fails its test, and the new number is written here
with what it pays for. Where a test compares a small record with a large one, both
requests are held to the same exact number: the count must not grow with the data.

"Signed in" below means the one query every request of a signed-in user makes: the
session with its user (bzpeer/sessions.py).
"""

from __future__ import annotations

BUDGETS: dict[str, int] = {
    # --- profiles -----------------------------------------------------------------------
    # The featured researchers, recently claimed records (+ institution), the topics with
    # most researchers.
    "home": 3,
    # Researcher (+ institution), its topics, the works COUNT and page (+ venue, topics),
    # the works' first authors, the filters' counts (types, roles, years), works per year,
    # public corrections. Citation figures are stored on the researcher row.
    "profile.anonymous": 8,
    # The anonymous eight, signed in (the session with its user); the viewer's identity
    # state (claims, verified email, owned record) and follow state (and the digest switch)
    # are read in the researcher's statement.
    "profile.signed_in": 9,
    "profile.visitor": 9,
    "profile.claimant": 9,
    "profile.owner": 9,
    "profile.owner_of_another": 9,
    # Researcher, works COUNT, the page of works (+ venue), their first authors, the
    # researcher's topics and the filters' counts.
    "profile.works_fragment": 6,
    # A filtered profile (filtered lists are not cached) once the record's other sections
    # are: the anonymous eight less works per year and public corrections.
    "profile.filtered_sections_cached": 6,
    # Researcher, co-authors COUNT, the page of co-authors (+ their institutions).
    "profile.coauthors": 3,
    # Researcher, every follower counted, the COUNT and the page of followers with a public
    # record (+ institution); no account row is read.
    "profile.followers": 4,
    # Signed in, the COUNT and the page of public records followed (+ institution), the
    # followed records open to collaborate (+ institution).
    "profile.following": 4,
    # Researcher, then one server-side cursor over the listed works (authors gathered by
    # a subquery), whatever the number of works.
    "profile.export": 2,
    # Researcher, the latest listed works (+ venue).
    "profile.feed": 2,
    # Signed in, researcher, audit context, the follow write and recount, the button state.
    "profile.follow_post": 8,
    "profile.unfollow_post": 8,
    # --- owner tools (signed in, the owned record, then the action) ----------------------
    # Writes go through bzpeer.curation, whose audit context adds a savepoint and its
    # release around the domain service's own.
    # + works COUNT, the owner's "not me" reports, the page of works.
    "owner.works": 5,
    # + the write in its audit context, then the identity panel and the header read back.
    "owner.summary": 11,
    "owner.collaboration": 9,
    # + the work, the report and the recount in their audit context, the works list back.
    "owner.not_me": 15,
    # + the owner row locked, the claim, the release in its audit context, the panel back.
    "owner.release": 15,
    # --- invitations (signed in first) ---------------------------------------------------
    # + the record, the sender's identity state, the sender's own record (conflicts).
    "invitations.new": 4,
    "invitations.new_fragment": 4,
    # + the invitation (+ sender, record).
    "invitations.detail": 2,
    # + received and sent invitations.
    "invitations.inbox": 3,
    # + the record, the sender's verified address, the sender locked (the daily limit counts
    # under that lock), the limits (one pending per pair, a daily count) and the invitation
    # written in its audit context, the result back.
    "invitations.send_fragment": 12,
    # + the invitation locked and answered in its audit context, read back.
    "invitations.accept_fragment": 7,
    "invitations.decline_fragment": 7,
    # --- claims (signed in first) --------------------------------------------------------
    # As for owner tools, each write runs inside the curation layer's audit context.
    # + the record, the user's ORCID, identity state, the ORCID app, verified addresses.
    "claims.start": 6,
    "claims.start_fragment": 6,
    # + the user's claims (+ records).
    "claims.mine": 2,
    # + the record, the verified address, the user row locked, the claim decided in its
    # audit context, then the claim panel (ORCID, identity state, ORCID app, addresses).
    "claims.refused_fragment": 16,
    "claims.evidence_fragment": 14,
    # + the claim, withdrawn in its audit context, read back.
    "claims.withdraw_fragment": 9,
    # --- graph --------------------------------------------------------------------------
    # Researcher, slice (its HTML comes from the cache or one render without queries).
    "graph.slice_ready": 2,
    # Researcher, no slice yet: get_or_create's SELECT, then the INSERT in a savepoint.
    "graph.slice_queued": 5,
    # Researcher, slice, the conditional UPDATE that claims nothing, the slice read back.
    "graph.slice_polling": 4,
    # Researcher, get_or_create (no row), INSERT, the FAILED status written.
    "graph.slice_failed": 6,
    # Researcher, slice.
    "graph.explorer": 2,
    "graph.neighbours.researcher": 5,
    "graph.neighbours.work": 4,
    "graph.neighbours.topic": 3,
    "graph.neighbours.institution": 2,
    # --- works --------------------------------------------------------------------------
    # Work + venue (with its page version), topics, shown authorships + researchers, their
    # institutions, the first authors' names for the JSON-LD (read only when the page is
    # rendered, not on a cache hit), the work's institution list.
    "works.work": 6,
    # + whether the researcher a visitor came from (?author=) is an author (it names the
    # cached rendering), and, off the page shown, their authorship (+ researcher) and its
    # institutions.
    "works.work_from_author": 9,
    # The work (+ venue), then the work as a citation (its authors by a subquery).
    "works.cite": 2,
    # Topic, the paginator's COUNT (every researcher is listed, paged), a page of ranked
    # researchers (+ institution), recent works (+ venue).
    "works.topic": 4,
    # Institution, the paginator's COUNT, the page of researchers.
    "works.institution": 3,
    # --- served from the page cache (bzpeer/pagecache) ----------------------------------
    # Any cached anonymous page or fragment, and its 304: the record with its version.
    "pagecache.hit": 1,
    # The same for an anonymous visitor who has a session cookie: + the session.
    "pagecache.hit_with_session": 2,
    # Signed in (1), the record with its version and the viewer's identity and follow
    # state (one statement); the record's sections from the cached fragments.
    "pagecache.signed_in_profile": 2,
    # --- search and browse --------------------------------------------------------------
    # Grouped results of a query that finds every kind: researchers (one statement for
    # candidates, count, page ids and filter counts; then the rows), works (the same, then
    # the rows and their first authors), topics and institutions (one each, the total a
    # window count).
    "search.results": 7,
    # One kind (researchers): the statement, then the rows.
    "search.results_one_kind": 2,
    # As-you-type: researchers (the statement, the rows), works (the statement, then titles
    # and years only: no venue, no authors), topics and institutions (one each); no filter
    # counts.
    "search.suggestions": 6,
    # The statement (page ids in index order, full count, filter counts), the rows, the
    # listed records' page versions (the cached rendering's key).
    "search.directory": 3,
    # The paginator's COUNT, the page.
    "search.topic_index": 2,
    "search.institution_index": 2,
    # --- admin changelists (signed in first) ---------------------------------------------
    # + the row estimate, the exact COUNT (small table), the page (+ relations).
    "admin.researchers": 4,
    # + the search COUNT, the page.
    "admin.researchers_search": 3,
    # + the changelist's counts, its page (+ related rows).
    "admin.works": 5,
    "admin.authorships": 4,
}
