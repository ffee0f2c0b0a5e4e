"""Curators' writes: merge duplicate records, split or reassign authorships, hide and edit
works, edit or delete records, decide claims and "not me" reports, release a record,
recompute.

Each is one transaction that locks the rows it changes (researchers in primary key order,
so two curators working on overlapping records wait instead of deadlocking), runs in an
audit context (bzpeer/audit/context.py: who, what, which profiles, a public note) that it
opens itself, and ends with `derived.refresh_derived_data`, which recounts, rebuilds
co-author edges and queues trust and graph slices for the worker, as an import does. The
admin only calls these, so a correction made in the admin, a shell or a test is recorded
the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from bzpeer.audit.context import curation_context
from bzpeer.curation.derived import queue_recompute, refresh_derived_data
from bzpeer.privacy.services import erase_account
from bzpeer.search.documents import refresh_search_documents
from bzpeer.types import AnyUser, User
from bzpeer.utils import counted
from claims import hiding
from claims import services as claim_rules
from claims.listing import OPEN_STATUSES
from claims.models import Claim, HideRequest, NotMeReport
from claims.services import DECIDE_PERMISSION
from graph.models import CoauthorEdge, GraphSlice
from graph.services import drop_slices_showing
from profiles.models import Follow, Invitation, Researcher, VerificationLevel
from works.models import Authorship, Work

MERGE_PERMISSION = "profiles.merge_researcher"
MOVE_PERMISSION = "works.move_authorship"
HIDE_PERMISSION = "works.change_work"
EDIT_WORK_PERMISSION = "works.change_work"
EDIT_AUTHORSHIP_PERMISSION = "works.change_authorship"
EDIT_RESEARCHER_PERMISSION = "profiles.change_researcher"
RECOMPUTE_PERMISSION = "profiles.change_researcher"
RELEASE_PERMISSION = "profiles.change_researcher"


class CurationError(Exception):
    """The rules refuse this change; the message is written for the curator."""


def require_permission(curator: AnyUser | None, permission: str) -> None:
    if curator is None or not curator.is_active or not curator.is_staff:
        raise PermissionDenied("Only curators change records.")
    if not curator.has_perm(permission):
        raise PermissionDenied(f"You lack the permission {permission}.")


def _lock_researchers(ids: Iterable[int]) -> dict[int, Researcher]:
    rows = Researcher.objects.select_for_update(of=("self",)).filter(pk__in=set(ids)).order_by("pk")
    return {row.pk: row for row in rows}


# --- merge -----------------------------------------------------------------------------


def merge_researchers(
    *, survivor: Researcher, duplicates: Iterable[Researcher], curator: AnyUser
) -> Researcher:
    """Merge duplicate records of one person into `survivor`.

    1. Lock the survivor and the duplicates; refuse a survivor that is itself merged, a
       duplicate already merged, or owners that differ (a claimed record never goes into
       another owner's record, and two owners never become one).
    2. Authorships move to the survivor; one on a work the survivor (or an earlier
       duplicate) already has is deleted instead, so each (work, researcher) pair stays
       unique. "Not me" reports follow their authorship the same way.
    3. Follows move the same way, keyed by user; claims move (a second pending claim by
       the same user is withdrawn; pending claims become disputes when the survivor has an
       owner); invitations move (a second open one from the same sender is declined).
    4. An owned duplicate hands its owner and verification level to the survivor; the
       survivor takes the duplicates' names as alternative names and fills its empty ORCID,
       institution and summary from them.
    5. Each duplicate gets merged_into = survivor, and so does every record merged into a
       duplicate earlier (chains collapse to one hop). Their graph slices are dropped.
    6. Counts, co-author edges (refresh_derived_data) and, in the worker, trust and graph slices
       are recomputed for the survivor, the duplicates and their co-authors.
    """
    require_permission(curator, MERGE_PERMISSION)
    duplicate_ids = {d.pk for d in duplicates} - {None}
    if not duplicate_ids:
        raise CurationError("Select at least one duplicate besides the survivor.")
    if survivor.pk in duplicate_ids:
        raise CurationError("The survivor cannot be merged into itself.")
    with transaction.atomic():
        rows = _lock_researchers({survivor.pk, *duplicate_ids})
        survivor = rows[survivor.pk]
        dups = [rows[pk] for pk in sorted(duplicate_ids) if pk in rows]
        _check_merge(survivor, dups)
        names = ", ".join(d.display_name for d in dups)
        note = f"Merged duplicate record(s) into this profile: {names}."
        with curation_context(
            action="merge",
            curator=curator,
            researcher_ids=[survivor.pk, *duplicate_ids],
            note=note,
        ):
            _move_rows(survivor, dups)
            _take_identity(survivor, dups)
            Researcher.objects.filter(merged_into_id__in=duplicate_ids).update(merged_into=survivor)
            for dup in dups:
                dup.merged_into = survivor
                dup.save(update_fields=["merged_into", "updated_at"])
            GraphSlice.objects.filter(researcher_id__in=duplicate_ids).delete()
            refresh_derived_data(researcher_ids=[survivor.pk, *duplicate_ids])
    survivor.refresh_from_db()
    return survivor


def _check_merge(survivor: Researcher, dups: list[Researcher]) -> None:
    if survivor.merged_into_id:
        raise CurationError(
            f"{survivor.display_name} is itself merged into another record; "
            "merge into that record instead."
        )
    for dup in dups:
        if dup.merged_into_id:
            raise CurationError(f"{dup.display_name} is already merged into another record.")
    owners = {r.owner_id for r in [survivor, *dups] if r.owner_id}
    if len(owners) > 1:
        raise CurationError(
            "These records belong to different owners: a claimed record cannot be merged "
            "into another owner's record. Resolve the claims first."
        )


def _move_rows(survivor: Researcher, dups: list[Researcher]) -> None:
    """Steps 2 and 3: re-point the rows, deleting the ones that would repeat a pair."""
    dup_list = [d.pk for d in dups]

    def repeats(model, key: str):
        # A row repeats when the survivor, or a duplicate row with a smaller id, already
        # holds the same key (work for authorships, user for follows).
        earlier = model.objects.filter(**{key: OuterRef(key)}).filter(
            Q(researcher_id=survivor.pk) | Q(researcher_id__in=dup_list, pk__lt=OuterRef("pk"))
        )
        return model.objects.filter(researcher_id__in=dup_list).filter(Exists(earlier))

    repeats(Authorship, "work_id").delete()
    Authorship.objects.filter(researcher_id__in=dup_list).update(researcher=survivor)

    open_reports = NotMeReport.objects.filter(status__in=OPEN_STATUSES)
    earlier_report = open_reports.filter(work_id=OuterRef("work_id")).filter(
        Q(researcher_id=survivor.pk) | Q(researcher_id__in=dup_list, pk__lt=OuterRef("pk"))
    )
    open_reports.filter(researcher_id__in=dup_list).filter(Exists(earlier_report)).delete()
    NotMeReport.objects.filter(researcher_id__in=dup_list).update(researcher=survivor)

    repeats(Follow, "user_id").delete()
    Follow.objects.filter(researcher_id__in=dup_list).update(researcher=survivor)

    now = timezone.now()
    pending = Claim.objects.filter(status=Claim.Status.PENDING)
    earlier_claim = pending.filter(user_id=OuterRef("user_id")).filter(
        Q(researcher_id=survivor.pk) | Q(researcher_id__in=dup_list, pk__lt=OuterRef("pk"))
    )
    pending.filter(researcher_id__in=dup_list).filter(Exists(earlier_claim)).update(
        status=Claim.Status.WITHDRAWN,
        decided_at=now,
        reason="Closed when this record was merged into another: a claim on it remains.",
    )
    _close_other_approvals(survivor, dups)
    Claim.objects.filter(researcher_id__in=dup_list).update(researcher=survivor)

    sent = Invitation.objects.filter(status=Invitation.Status.SENT)
    earlier_invitation = sent.filter(sender_id=OuterRef("sender_id")).filter(
        Q(researcher_id=survivor.pk) | Q(researcher_id__in=dup_list, pk__lt=OuterRef("pk"))
    )
    sent.filter(researcher_id__in=dup_list).filter(Exists(earlier_invitation)).update(
        status=Invitation.Status.DECLINED, decided_at=now
    )
    Invitation.objects.filter(researcher_id__in=dup_list).update(researcher=survivor)


def _close_other_approvals(survivor: Researcher, dups: list[Researcher]) -> None:
    """One approved claim per record: after the merge only the owner's may stay approved
    (an approval left behind when a curator removed an owner by hand is closed)."""
    owner_id = survivor.owner_id or next((d.owner_id for d in dups if d.owner_id), None)
    Claim.objects.filter(
        researcher_id__in=[survivor.pk, *(d.pk for d in dups)], status=Claim.Status.APPROVED
    ).exclude(user_id=owner_id).update(  # type: ignore[misc]  # None is a valid lookup: IS NULL
        status=Claim.Status.WITHDRAWN,
        decided_at=timezone.now(),
        reason="Ownership ended by a curator.",
    )


def _take_identity(survivor: Researcher, dups: list[Researcher]) -> None:
    """Step 4. The duplicates give up their owner and ORCID first: both are unique."""
    owned = next((d for d in dups if d.owner_id), None)
    new_owner_id = owned.owner_id if owned is not None and survivor.owner_id is None else None
    orcid = None if survivor.orcid else next((d.orcid for d in dups if d.orcid), None)
    for dup in dups:
        if dup.owner_id or (orcid and dup.orcid):
            dup.owner = None
            dup.orcid = None if orcid else dup.orcid
            dup.save(update_fields=["owner", "orcid", "updated_at"])
    fields = ["alternative_names", "updated_at"]
    if owned is not None and new_owner_id is not None:
        survivor.owner_id = new_owner_id
        survivor.verification_level = max(survivor.verification_level, owned.verification_level)
        fields += ["owner", "verification_level"]
    names = list(survivor.alternative_names)
    for dup in dups:
        for name in [dup.display_name, *dup.alternative_names]:
            if name and name != survivor.display_name and name not in names:
                names.append(name)
    survivor.alternative_names = names
    if orcid:
        survivor.orcid = orcid
        fields.append("orcid")
    if survivor.last_known_institution_id is None:
        institution = next(
            (d.last_known_institution_id for d in dups if d.last_known_institution_id), None
        )
        if institution:
            survivor.last_known_institution_id = institution
            fields.append("last_known_institution")
    if not survivor.summary.strip():
        summary = next((d.summary for d in dups if d.summary.strip()), "")
        if summary:
            survivor.summary = summary
            fields.append("summary")
    survivor.save(update_fields=fields)
    if survivor.owner_id:
        # Pending claims by others on an owned record are disputes.
        Claim.objects.filter(researcher=survivor, status=Claim.Status.PENDING).exclude(
            user_id=survivor.owner_id
        ).update(is_dispute=True)


# --- split and reassign ----------------------------------------------------------------


def split_authorships(
    *,
    authorships: Iterable[Authorship],
    curator: AnyUser,
    target: Researcher | None = None,
    new_display_name: str = "",
) -> Researcher:
    """Move these authorships to `target`, or to a new record named `new_display_name`
    (by default the first authorship's raw author name). An authorship on a work the
    target already has is deleted instead of moved (one authorship per work and person)."""
    require_permission(curator, MOVE_PERMISSION)
    authorship_ids = {a.pk for a in authorships}
    if not authorship_ids:
        raise CurationError("Select at least one authorship to move.")
    with transaction.atomic():
        rows = list(
            Authorship.objects.select_for_update(of=("self",))
            .select_related("work")
            .filter(pk__in=authorship_ids)
            .order_by("pk")
        )
        source_ids = {a.researcher_id for a in rows}
        if target is None:
            name = (new_display_name or rows[0].raw_author_name).strip()
            if not name:
                raise CurationError("Give the new record a name.")
            target = Researcher.objects.create(
                source_id=f"urn:bzpeer:split:{uuid.uuid4().hex}",
                display_name=name,
                verification_level=VerificationLevel.L1,
                is_stub=False,
            )
        locked = _lock_researchers({target.pk, *source_ids})
        target = locked[target.pk]
        if target.merged_into_id:
            raise CurationError(f"{target.display_name} is merged into another record.")
        moving = [a for a in rows if a.researcher_id != target.pk]
        if not moving:
            raise CurationError(f"These authorships are already on {target.display_name}.")
        sources = ", ".join(sorted({locked[a.researcher_id].display_name for a in moving}))
        note = f"Moved {counted(len(moving), 'work')} from {sources} to {target.display_name}."
        with curation_context(
            action="split",
            curator=curator,
            researcher_ids=[target.pk, *source_ids],
            note=note,
        ):
            held = set(
                Authorship.objects.filter(
                    researcher=target, work_id__in=[a.work_id for a in moving]
                ).values_list("work_id", flat=True)
            )
            Authorship.objects.filter(pk__in=[a.pk for a in moving if a.work_id in held]).delete()
            Authorship.objects.filter(
                pk__in=[a.pk for a in moving if a.work_id not in held]
            ).update(researcher=target)
            refresh_derived_data(researcher_ids=[target.pk, *source_ids])
    target.refresh_from_db()
    return target


def reassign_authorship(
    *, authorship: Authorship, researcher: Researcher, curator: AnyUser
) -> Researcher:
    """One authorship to another record (the wrong person was matched on a work)."""
    return split_authorships(authorships=[authorship], target=researcher, curator=curator)


# --- works -----------------------------------------------------------------------------


def hide_works(*, works: Iterable[Work], curator: AnyUser, hidden: bool = True) -> int:
    """Take works off every public page (or put them back); their authors' counts, edges
    and trust follow. Returns how many works changed."""
    require_permission(curator, HIDE_PERMISSION)
    work_ids = {w.pk for w in works}
    with transaction.atomic():
        changing = list(
            Work.objects.select_for_update()
            .filter(pk__in=work_ids)
            .exclude(is_hidden=hidden)
            # A merged work stays hidden: its survivor is the one shown.
            .exclude(merged_into__isnull=False)
            .order_by("pk")
        )
        if not changing:
            return 0
        authors = set(
            Authorship.objects.filter(work__in=changing).values_list("researcher_id", flat=True)
        )
        verb = "Hid" if hidden else "Showed again"
        titles = "; ".join((w.title or w.source_id)[:120] for w in changing[:5])
        more = f" and {len(changing) - 5} more" if len(changing) > 5 else ""
        with curation_context(
            action="hide" if hidden else "unhide",
            curator=curator,
            researcher_ids=authors,
            note=f"{verb} {counted(len(changing), 'work')}: {titles}{more}.",
        ):
            Work.objects.filter(pk__in=[w.pk for w in changing]).update(
                is_hidden=hidden, updated_at=timezone.now()
            )
            refresh_derived_data(researcher_ids=authors)
    return len(changing)


def hide_work(*, work: Work, curator: AnyUser) -> bool:
    return hide_works(works=[work], curator=curator) == 1


# --- merge works -----------------------------------------------------------------------


def merge_works(*, old: Work, survivor: Work, curator: AnyUser, note: str = "") -> Work:
    """Merge `old`, a second record of the same work (OpenAlex merged its id), into
    `survivor`.

    1. Lock both works (primary key order); refuse a survivor that is itself merged and an
       old work merged elsewhere. Merging again into the same survivor changes nothing.
    2. Authorships of the old work move to the survivor, with their affiliations; one whose
       researcher the survivor already lists is deleted instead (each (work, researcher)
       pair stays unique), and so are entries without a resolved researcher (the survivor's
       record has its own). "Not me" reports follow their authorship the same way. The
       survivor lists the moved entries too (`authors_count` grows by them) and its team
       size is recounted from its authorships (distinct resolved authors), before the
       co-author edges read it.
    3. The old work gets merged_into = survivor and is hidden (off every list, search,
       sitemap and export; its URL redirects to the survivor), and so does every work
       merged into it earlier (chains collapse to one hop).
    4. Counts, co-author edges and, in the worker, trust and graph slices are refreshed for
       the authors of both.
    """
    require_permission(curator, MERGE_PERMISSION)
    if old.pk == survivor.pk:
        raise CurationError("A work cannot be merged into itself.")
    with transaction.atomic():
        rows = {
            w.pk: w
            for w in Work.objects.select_for_update()
            .filter(pk__in=[old.pk, survivor.pk])
            .order_by("pk")
        }
        if len(rows) < 2:
            raise CurationError("One of these works no longer exists.")
        old, survivor = rows[old.pk], rows[survivor.pk]
        if survivor.merged_into_id:
            raise CurationError(
                f"{survivor.title or survivor.source_id} is itself merged into another work; "
                "merge into that work instead."
            )
        if old.merged_into_id == survivor.pk:
            return survivor
        if old.merged_into_id:
            raise CurationError(
                f"{old.title or old.source_id} is already merged into another work."
            )
        authors = work_author_ids([old.pk, survivor.pk])
        named = (survivor.title or survivor.source_id)[:200]
        public = note or f"Merged a second record of a work into “{named}”."
        with curation_context(
            action="merge_works", curator=curator, researcher_ids=authors, note=public
        ):
            moved = _move_work_rows(old, survivor)
            _recount_team(survivor, moved=moved)
            Work.objects.filter(merged_into=old).update(
                merged_into=survivor, is_hidden=True, updated_at=timezone.now()
            )
            old.merged_into = survivor
            old.is_hidden = True
            old.save(update_fields=["merged_into", "is_hidden", "updated_at"])
            refresh_derived_data(researcher_ids=authors)
    return survivor


def _move_work_rows(old: Work, survivor: Work) -> int:
    """Step 2: re-point the old work's authorships and reports, deleting repeats. Returns
    how many authorships moved."""
    held = Authorship.objects.filter(work_id=survivor.pk, researcher_id=OuterRef("researcher_id"))
    Authorship.objects.filter(work_id=old.pk).filter(
        Q(researcher_id__isnull=True) | Exists(held)
    ).delete()
    moved = Authorship.objects.filter(work_id=old.pk).update(work=survivor)

    open_reports = NotMeReport.objects.filter(status__in=OPEN_STATUSES)
    earlier = open_reports.filter(work_id=survivor.pk, researcher_id=OuterRef("researcher_id"))
    open_reports.filter(work_id=old.pk).filter(Exists(earlier)).delete()
    NotMeReport.objects.filter(work_id=old.pk).update(work=survivor)
    return moved


def _recount_team(survivor: Work, *, moved: int) -> None:
    """The survivor's entry count grows by the moved entries; its team size is the number of
    distinct resolved authors it now lists (the rule `Work.team_size` documents)."""
    team = (
        Authorship.objects.filter(work_id=survivor.pk, researcher_id__isnull=False)
        .values("researcher_id")
        .distinct()
        .count()
    )
    survivor.authors_count += moved
    survivor.team_size = team
    survivor.save(update_fields=["authors_count", "team_size", "updated_at"])


# --- recompute -------------------------------------------------------------------------


def recompute(*, researchers: Iterable[Researcher], curator: AnyUser) -> int:
    """Recount and rebuild edges now, queue trust and graph slices: the way back after a
    broker outage lost a queued recomputation. Changes no curated field."""
    require_permission(curator, RECOMPUTE_PERMISSION)
    ids = {r.pk for r in researchers}
    with transaction.atomic():
        return len(refresh_derived_data(researcher_ids=ids))


# --- edits and deletions made on the admin's change pages --------------------------------------

# A work's fields that move its authors' counts, edges or trust (the rest is cosmetic).
COUNTED_WORK_FIELDS = frozenset(
    {"is_hidden", "authors_count", "publication_year", "topics", "doi", "arxiv_id"}
)


def work_author_ids(work_ids: Iterable[int]) -> set[int]:
    rows = Authorship.objects.filter(work_id__in=list(work_ids)).values_list("researcher_id")
    return {researcher_id for (researcher_id,) in rows}


def edit_work(
    *,
    work: Work,
    curator: AnyUser,
    changed: Sequence[str],
    labels: Sequence[str],
    save: Callable[[], None],
) -> None:
    """A curator's edit of a work's own fields: `save` writes them inside the audit context,
    whose public note says what was corrected (or that the work was hidden or shown).
    `changed` names the changed fields, `labels` how the form calls them. The authors'
    derived data follows in `work_edited`, once related rows (topics, authorships) are
    saved too."""
    require_permission(curator, EDIT_WORK_PERMISSION)
    if not changed:
        with transaction.atomic():
            save()
        return
    verb = {True: "Hid", False: "Showed again"}.get(work.is_hidden)
    title = work.title[:120]
    note = (
        f"{verb} the work {title!r}."
        if list(changed) == ["is_hidden"]
        else f"Corrected the work {title!r}: {', '.join(labels).lower()}."
    )
    with (
        transaction.atomic(),
        curation_context(
            action="edit work",
            curator=curator,
            researcher_ids=work_author_ids([work.pk]) if work.pk else (),
            note=note,
        ),
    ):
        save()


def work_edited(
    *,
    work: Work,
    curator: AnyUser,
    changed: Iterable[str],
    authorships_changed: bool = False,
    removed_researcher_ids: Iterable[int | None] = (),
) -> set[int]:
    """After a work's edit is saved with its related rows: when a counted field or its
    authorships changed, refresh its authors (and the ones whose authorship was removed)."""
    require_permission(curator, EDIT_WORK_PERMISSION)
    if not (COUNTED_WORK_FIELDS.intersection(changed) or authorships_changed):
        return set()
    ids = {pk for pk in [*work_author_ids([work.pk]), *removed_researcher_ids] if pk}
    with transaction.atomic():
        return refresh_derived_data(researcher_ids=ids)


def delete_works(*, works: Iterable[Work], curator: AnyUser) -> int:
    """Delete works (their authorships go with them); their authors are recounted."""
    require_permission(curator, "works.delete_work")
    work_ids = [w.pk for w in works]
    with transaction.atomic():
        authors = work_author_ids(work_ids)
        deleted, _ = Work.objects.filter(pk__in=work_ids).delete()
        refresh_derived_data(researcher_ids=authors)
    return deleted


def edit_authorship(
    *,
    authorship: Authorship,
    previous_researcher_id: int | None,
    curator: AnyUser,
    save: Callable[[], None],
) -> None:
    """A curator's edit of one authorship. Pointing it at another researcher is a move, with
    the same permission and public note as `split_authorships`; both records are refreshed."""
    require_permission(curator, EDIT_AUTHORSHIP_PERMISSION)
    moved = previous_researcher_id not in (None, authorship.researcher_id)
    ids = [authorship.researcher_id, previous_researcher_id]
    with transaction.atomic():
        if moved:
            require_permission(curator, MOVE_PERMISSION)
            target = Researcher.objects.get(pk=authorship.researcher_id)
            with curation_context(
                action="split",
                curator=curator,
                researcher_ids=ids,
                note=f"Moved 1 work to {target.display_name}.",
            ):
                save()
        else:
            save()
        refresh_derived_data(researcher_ids={pk for pk in ids if pk})


def delete_authorships(*, authorships: Iterable[Authorship], curator: AnyUser) -> int:
    require_permission(curator, "works.delete_authorship")
    ids = [a.pk for a in authorships]
    with transaction.atomic():
        researcher_ids = set(
            Authorship.objects.filter(pk__in=ids).values_list("researcher_id", flat=True)
        )
        deleted, _ = Authorship.objects.filter(pk__in=ids).delete()
        refresh_derived_data(researcher_ids=researcher_ids)
    return deleted


def edit_researcher(
    *,
    researcher: Researcher,
    curator: AnyUser,
    labels: Sequence[str],
    previous_merged_into_id: int | None = None,
    save: Callable[[], None],
) -> None:
    """A curator's edit of a record's fields: `save` writes them inside the audit context,
    whose public note names the corrected fields (never who). Owner, verification level
    and ORCID iD are not among them (claims.services decides those); a new record starts
    unclaimed at the level the rules give it."""
    require_permission(curator, EDIT_RESEARCHER_PERMISSION)
    if researcher.pk is None:
        researcher.verification_level = claim_rules.unclaimed_level(researcher)
    if not labels:
        with transaction.atomic():
            save()
        return
    with (
        transaction.atomic(),
        curation_context(
            action="edit",
            curator=curator,
            researcher_ids=[researcher.pk, researcher.merged_into_id, previous_merged_into_id],
            note=f"Corrected the record: {', '.join(labels).lower()}.",
        ),
    ):
        save()


def researcher_edited(*, researcher: Researcher, curator: AnyUser) -> set[int]:
    """After a record's edit is saved with its related rows: refresh it (and the record it
    now redirects to)."""
    require_permission(curator, EDIT_RESEARCHER_PERMISSION)
    with transaction.atomic():
        return refresh_derived_data(
            researcher_ids={pk for pk in [researcher.pk, researcher.merged_into_id] if pk}
        )


def delete_researchers(*, researchers: Iterable[Researcher], curator: AnyUser) -> int:
    """Delete records; their edges go with them (cascade), so their co-authors' close
    counts are refreshed."""
    require_permission(curator, "profiles.delete_researcher")
    ids = [r.pk for r in researchers]
    with transaction.atomic():
        coauthors = set(
            CoauthorEdge.objects.filter(researcher_id__in=ids).values_list("coauthor_id", flat=True)
        ) - set(ids)
        deleted, _ = Researcher.objects.filter(pk__in=ids).delete()
        refresh_derived_data(researcher_ids=coauthors)
    return deleted


# --- claims and "not me" reports -------------------------------------------------------------


def approve_claim(
    *, claim: Claim, curator: User, reason: str = "", seen: str | None = None
) -> Claim:
    """claims.services.approve_claim (the claim rules), then trust for the record. `seen`
    is the review token of the page the curator decided on."""
    with transaction.atomic():
        claim = claim_rules.approve_claim(claim=claim, reviewer=curator, reason=reason, seen=seen)
        queue_recompute(researcher_ids=[claim.researcher_id])
    return claim


def transfer_record(*, claim: Claim, curator: User, reason: str, seen: str | None = None) -> Claim:
    """A dispute decided for the claimant: the record moves from its owner to them
    (claims.services.transfer_record); the profile's corrections list says the owner
    changed (never who)."""
    with (
        transaction.atomic(),
        curation_context(
            action="transfer",
            curator=curator,
            researcher_ids=[claim.researcher_id],
            note="Ownership moved to another claimant after curators reviewed a dispute.",
        ),
    ):
        claim = claim_rules.transfer_record(claim=claim, reviewer=curator, reason=reason, seen=seen)
        queue_recompute(researcher_ids=[claim.researcher_id])
    return claim


def reject_claim(*, claim: Claim, curator: User, reason: str) -> Claim:
    with transaction.atomic():
        claim = claim_rules.reject_claim(claim=claim, reviewer=curator, reason=reason)
        queue_recompute(researcher_ids=[claim.researcher_id])
    return claim


def accept_not_me(*, report: NotMeReport, curator: User, reason: str = "") -> NotMeReport:
    """The authorship leaves the record for good: the profile's corrections list says so
    (never who), and counts, edges, trust and slices follow."""
    with transaction.atomic():
        pending = NotMeReport.objects.filter(pk=report.pk, status=NotMeReport.Status.PENDING)
        work = Work.objects.filter(pk=report.work_id).first()
        with curation_context(
            action="not me",
            curator=curator,
            researcher_ids=[report.researcher_id],
            note=f"Removed a work its owner reported as not theirs: {str(work)[:120]}."
            if pending.exists()
            else "",
        ):
            report = claim_rules.accept_not_me(report=report, reviewer=curator, reason=reason)
            refresh_derived_data(researcher_ids=[report.researcher_id])
    return report


def reject_not_me(*, report: NotMeReport, curator: User, reason: str) -> NotMeReport:
    with transaction.atomic():
        report = claim_rules.reject_not_me(report=report, reviewer=curator, reason=reason)
        queue_recompute(researcher_ids=[report.researcher_id])
    return report


def release_record(*, researcher: Researcher, curator: AnyUser, reason: str = "") -> Researcher:
    """A curator takes a record back from its owner (a wrong approval, a closed account):
    unclaimed, its level back to L1/L0, the approval closed with `reason`, which the former
    owner is emailed (claims.services.revoke_ownership)."""
    require_permission(curator, RELEASE_PERMISSION)
    if not curator.has_perm(DECIDE_PERMISSION):
        raise PermissionDenied(f"You lack the permission {DECIDE_PERMISSION}.")
    with transaction.atomic():
        record = _lock_researchers([researcher.pk])[researcher.pk]
        if record.owner_id is None:
            raise CurationError(f"{record.display_name} has no owner.")
        if not reason.strip():
            raise CurationError("Say why the record is released: the former owner reads it.")
        with curation_context(
            action="release",
            curator=curator,
            researcher_ids=[record.pk],
            note="Released the record from its owner.",
        ):
            record = claim_rules.revoke_ownership(
                researcher=record, reviewer=_as_user(curator), reason=reason
            )
            queue_recompute(researcher_ids=[record.pk])
    return record


def change_orcid(
    *, researcher: Researcher, curator: AnyUser, orcid: str | None, reason: str
) -> Researcher:
    """A curator corrects a record's ORCID iD through the claim rules
    (claims.services.change_orcid: reason, owner emailed); the public corrections list says
    the iD was corrected. Trust follows (an iD counts in completeness)."""
    require_permission(curator, EDIT_RESEARCHER_PERMISSION)
    with (
        transaction.atomic(),
        curation_context(
            action="orcid",
            curator=curator,
            researcher_ids=[researcher.pk],
            note="Corrected the record's ORCID iD.",
        ),
    ):
        try:
            record = claim_rules.change_orcid(
                researcher=researcher, orcid=orcid, reviewer=_as_user(curator), reason=reason
            )
        except claim_rules.ClaimError as exc:
            raise CurationError(str(exc)) from exc
        queue_recompute(researcher_ids=[record.pk])
    return record


def delete_accounts(*, users: Iterable[User], curator: AnyUser) -> int:
    """Delete user accounts. A record an account owns is released first, by the claim
    rules: otherwise it would keep its "claimed, verified" level with nobody owning it;
    then each account's personal data is erased (bzpeer.privacy.services.erase_account)."""
    require_permission(curator, "auth.delete_user")
    user_ids = [u.pk for u in users]
    with transaction.atomic():
        for record in Researcher.objects.filter(owner_id__in=user_ids).order_by("pk"):
            with curation_context(
                action="release",
                curator=curator,
                researcher_ids=[record.pk],
                note="Released the record from its owner.",
            ):
                claim_rules.revoke_ownership(
                    researcher=record,
                    reviewer=_as_user(curator),
                    reason="The owner's account was deleted.",
                    notify=False,
                )
                queue_recompute(researcher_ids=[record.pk])
        # Then what a self-service deletion erases (follows, sessions, logins, personal
        # data kept in decided reports and in the audit trail's reasons).
        for account in get_user_model().objects.filter(pk__in=user_ids):
            erase_account(user=account)
        deleted, _ = get_user_model().objects.filter(pk__in=user_ids).delete()
    return deleted


def _as_user(curator: AnyUser) -> User:
    # require_permission has refused anonymous users already.
    assert curator.is_authenticated
    return curator


# --- hide requests ---------------------------------------------------------------------------

HIDE_NOTES: dict[str, str] = {
    HideRequest.Scope.PROFILE: "Hid the profile at the request of the person it describes.",
    HideRequest.Scope.SUMMARY: "Hid the summary at the request of the person it describes.",
    HideRequest.Scope.AFFILIATION: (
        "Hid the affiliation at the request of the person it describes."
    ),
    HideRequest.Scope.CORRECTION: "Corrected the record at the request of the person it describes.",
}


def approve_hide_request(*, request: HideRequest, curator: User, reason: str = "") -> HideRequest:
    """claims.hiding.approve_hide_request (the review rules and the record's columns) in an
    audit context whose public note never names the requester; then every stored graph
    slice that shows the record is dropped, its search document and institution links are
    rewritten (a hidden record, or a hidden affiliation, is found by no search or filter),
    and the record's own derived data follows."""
    with (
        transaction.atomic(),
        curation_context(
            action="hide request",
            curator=curator,
            researcher_ids=[request.researcher_id],
            note=HIDE_NOTES.get(request.scope, ""),
        ),
    ):
        request = hiding.approve_hide_request(request=request, reviewer=curator, reason=reason)
        drop_slices_showing(researcher_ids=[request.researcher_id])
        refresh_search_documents(researcher_ids=[request.researcher_id])
        queue_recompute(researcher_ids=[request.researcher_id])
    return request


def reject_hide_request(*, request: HideRequest, curator: User, reason: str) -> HideRequest:
    with transaction.atomic():
        return hiding.reject_hide_request(request=request, reviewer=curator, reason=reason)
