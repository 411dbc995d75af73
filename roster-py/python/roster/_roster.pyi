"""The native part of the ``roster`` package; import ``roster`` instead."""

import os
from collections.abc import Sequence
from typing import Any, final

__all__ = ["Roster", "__version__", "assign", "assign_non_overlapping"]

__version__: str

def assign(batch: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Places experts on several requests at once, each expert on at most
    one of them, with the best total score. Exact: ``optimal`` is always
    true.

    ``batch`` lists the requests, each ``{"key": "THA/THA-2025-07",
    "window": {"first": ..., "last": ...}, "wanted": 2, "candidates":
    [{"expert": id, "score": points}, ...]}``: its key (requester and id),
    the mission's days, how many experts it wants (0 to 65535) and every
    expert who may fill it with the expert's score for it. A shortlist
    gives the candidates: ``[{"expert": r["expert"], "score": r["total"]}
    for r in shortlist["ranked"]]``. An expert listed twice for one request
    counts once, at the higher score. Nothing is recorded.

    Returns ``{"placements", "total", "optimal", "unfilled"}``:
    ``placements`` (by request in batch order, then by expert id) are
    ``{"request": key, "expert": id, "score": points}``; ``total`` is the
    sum of their scores; ``unfilled`` lists the requests with empty slots,
    in batch order, as ``{"request": key, "slots": n, "reason": ...}``, one
    entry per reason: ``"no_candidates"``, ``"too_few_candidates"`` (the
    slots beyond the number of candidates) or
    ``"candidates_placed_elsewhere"`` (where they add more to the total).
    The entries of a request add up to its empty slots.

    The GIL is released while the solver runs.

    :raises ValidationError: naming the field at fault, such as
        ``batch[0].candidates[1].score`` for a score that is not a whole
        number from 0 to 4294967295, ``batch[2].key`` for an empty key or
        one used twice in the batch, or ``batch[1].window`` for a window
        that ends before it starts. Unknown keys are refused.
    """

def assign_non_overlapping(batch: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Places experts on several requests at once, letting an expert take
    several of them when their days do not overlap, maximising the total
    score.

    ``batch`` and the result are as for ``assign``. The problem is hard in
    general, so it is solved by local search, started from a greedy pass
    and from the answer of ``assign``, whose total it never falls below:
    ``optimal`` is true when the total reaches the bound of every request
    taking its best candidates, or when no expert is a candidate of two
    requests whose days do not overlap (nobody can take two, so the answer
    of ``assign`` is the optimum); ``"candidates_placed_elsewhere"`` also
    covers candidates busy on another request's overlapping days.

    :raises ValidationError: as for ``assign``.
    """

@final
class Roster:
    """A roster of experts, in memory or in a SQLite file.

    Records go in and come out as plain dicts and lists, shaped as in the
    Rust crate ``roster-core`` (field names in snake case, days as
    ``YYYY-MM-DD`` strings, expert ids as ints). Input dicts refuse unknown
    keys, so a misspelt key is an error rather than silently ignored.

    The roster acts as an officer of the Regional Support Office
    (``{"kind": "rso", "id": "python"}``) unless ``actor`` says otherwise;
    ``as_actor`` gives a view acting as someone else.

    Every call releases the GIL while it works, so other Python threads run
    meanwhile. Instances may be shared between threads.

    A whole number outside what its field or argument allows raises
    ``ValidationError`` naming it, never ``OverflowError``: a negative
    count says it must be zero or more, a number too large gives the
    maximum, and an ``expert_id`` must be 1 or more and fit in 64 bits
    (signed). Any object
    with ``__index__`` (a numpy integer, say) counts as a whole number;
    another type, such as a ``str`` for an ``expert_id``, raises
    ``TypeError``.
    """

    @staticmethod
    def in_memory(
        today: str | None = None,
        *,
        actor: dict[str, Any] | None = None,
        weights: dict[str, int] | None = None,
        load_cap: dict[str, int] | None = None,
    ) -> Roster:
        """An empty roster kept in memory.

        :param today: fixes the day (``YYYY-MM-DD``, in the roster's time
            zone, Asia/Bangkok); by default the system clock runs.
        :param actor: the party acting, such as
            ``{"kind": "participant", "id": "THA"}``.
        :param weights: the weight of each score part, all six:
            ``{"thematic": 35, "years": 20, "competencies": 20,
            "languages": 10, "region": 10, "rotation": 5}`` (the default).
            Each part earns up to 1000 points per unit of weight. At least
            one weight is above 0, and together they add up to at most
            4294967, so that every total is exact.
        :param load_cap: a hard limit on missions, ``{"max": 2,
            "period_days": 365}``: an expert with ``max`` accepted or
            completed missions in the ``period_days`` days before a
            mission's first day (through its last) is not ranked. Both are
            at least 1. By default there is no cap.
        :raises ValidationError: if ``today``, ``actor``, ``weights`` or
            ``load_cap`` is malformed, naming the field
            (``weights.rotation``, ``load_cap.max``); unknown keys are
            refused. ``errors`` lists every problem of all four at once:
            each bad, unknown or missing key, not only the first.
        """

    @staticmethod
    def open_sqlite(
        path: str | os.PathLike[str],
        today: str | None = None,
        *,
        actor: dict[str, Any] | None = None,
        weights: dict[str, int] | None = None,
        load_cap: dict[str, int] | None = None,
    ) -> Roster:
        """A roster in a SQLite file, created with its tables when missing.

        ``today``, ``actor``, ``weights`` and ``load_cap`` are as for
        ``in_memory``, and are checked before the file is opened. The match
        policy is not stored in the file: give it each time.

        The roster uses its own copy of SQLite. Do not open the same file
        with Python's ``sqlite3`` module in the same process while a roster
        has it open: two copies of SQLite in one process do not see each
        other's locks, and closing one connection drops the other's.
        Other processes may use the file: a writer waits a few seconds for
        another's lock, then raises ``DatabaseError`` with ``transient`` set.

        :raises DatabaseError: if the file cannot be opened or migrated;
            when its folder does not exist, the message names the folder.
        :raises ValidationError: if ``today``, ``actor``, ``weights`` or
            ``load_cap`` is malformed.
        """

    def as_actor(self, actor: dict[str, Any]) -> Roster:
        """The same roster (same store and clock) acting as ``actor``.

        :raises ValidationError: if ``actor`` is malformed.
        """

    @property
    def actor(self) -> dict[str, Any]:
        """The party this roster acts as."""

    @property
    def match_policy(self) -> dict[str, Any]:
        """The match policy, shared by every view of this roster:
        ``{"weights": {...}, "load_cap": {"max": ..., "period_days": ...}}``,
        ``load_cap`` being ``None`` without a cap."""

    @property
    def today(self) -> str:
        """Today in the roster's time zone, as ``YYYY-MM-DD``."""

    def set_today(self, today: str) -> None:
        """Fixes today (``YYYY-MM-DD``) for every view of this roster.

        :raises ValidationError: if ``today`` is not a day between 1900 and
            9999.
        """

    def open_call(self, call: dict[str, Any]) -> dict[str, Any]:
        """Opens the call for nominations of a year.

        ``call`` is ``{"year": 2025, "window": {"first": ..., "last": ...}}``.
        Returns the call saved, with its ``version`` (1 when opened).
        Opening a year again with the same window returns the stored call.

        :raises ForbiddenError: unless acting as the RSO.
        :raises ValidationError: if the window ends before it starts, or
            differs from the window of the year's stored call.
        """

    def nominate(self, nomination: dict[str, Any]) -> dict[str, Any]:
        """Records a nomination in an open call.

        ``nomination`` is ``{"call_year", "nominator", "expert"}``, the
        expert being a profile (name, email, organisation, experience,
        referees, languages, availability). The same person nominated again
        (same e-mail address, whatever its letter case) stays one expert.
        Returns ``{"outcome": "created" | "added_nominator" |
        "already_recorded", "expert": id}``.

        :raises ValidationError: for every field at fault (``errors``).
        :raises CallClosedError: if the call is not open today.
        :raises ForbiddenError: if nominating for another participant.
        """

    def screen(self, expert_id: int) -> dict[str, Any]:
        """Checks a nominated expert against the selection criteria.

        Returns the report: ``checked_on`` and one finding per criterion
        (``criterion``, ``required``, ``met``, ``reason``). An expert who
        fails a required criterion becomes ineligible.

        :raises NotFoundError: if there is no such expert.
        :raises ForbiddenError: unless acting as the RSO.
        """

    def invite(self, expert_id: int) -> dict[str, Any]:
        """Invites a nominated, eligible expert to register.

        Returns the expert, with ``invitation``: ``{"token": ...,
        "expires_at": ...}``. The token is shown once; the store keeps only
        its hash.

        :raises TransitionError: unless the expert is nominated.
        :raises ValidationError: if the expert is not eligible.
        """

    def reinvite(self, expert_id: int) -> dict[str, Any]:
        """Sends an invited expert a new invitation, as when the first has
        expired or was lost. Any older token still pending stops working.

        Returns what ``invite`` returns: the expert, still ``"invited"``
        (at its next version), with the new ``invitation``.

        :raises ForbiddenError: unless acting as the RSO.
        :raises TransitionError: unless the expert is invited.
        """

    def decline(self, expert_id: int, reason: str) -> dict[str, Any]:
        """Records that an invited expert declined to join the roster; the
        reason is kept in the audit trail. Returns the expert, now
        ``"declined"``.

        :raises ForbiddenError: unless acting as the RSO or as the expert.
        :raises TransitionError: unless the expert is invited.
        """

    def redeem_invitation(self, token: str, email: str) -> int:
        """Redeems an invitation token for the address it was sent to.

        Returns the expert's id; the letter case of the address does not
        matter.

        :raises InvitationError: for an unknown, used, expired or
            misaddressed token (one error for all four).
        """

    def upload_cv(self, expert_id: int, file_name: str, content: bytes) -> dict[str, Any]:
        """Checks a CV by its content (PDF, DOCX or ODT) and stores it.

        Returns the stored document; a registration names its ``id`` as
        ``cv_document``. ``file_name`` is display text only.

        :raises ValidationError: with ``field`` ``"cv"`` when the file is
            empty, too large, of another type, or does not match its name.
        """

    def renew(self, expert_id: int) -> dict[str, Any]:
        """Renews an included or expired expert for the year after its term.

        No second registration is needed. Returns the expert.

        :raises TransitionError: unless the expert is included or expired.
        :raises ValidationError: if the term was already renewed.
        """

    def withdraw(self, expert_id: int, reason: str) -> dict[str, Any]:
        """Withdraws a nominated, invited or registered expert.

        :raises TransitionError: from any other status.
        """

    def update_profile(
        self, expert_id: int, expected_version: int, profile: dict[str, Any]
    ) -> dict[str, Any]:
        """Replaces an expert's profile, made against the version read.

        Returns the expert at its new version.

        :raises ConflictError: if someone changed the expert since; its
            ``current_version`` says which version to read and retry.
        :raises ValidationError: if the profile is not valid, or with
            ``field`` ``"expected_version"`` for a version below 0 or
            beyond 64 bits.
        """

    def preview(self, request: dict[str, Any]) -> dict[str, Any]:
        """Ranks the roster for a request without recording anything.

        Returns the shortlist, as ``match_request`` does. The request is
        not stored, so it cannot be proposed on, and its id stays free;
        a preview never moves rotation or load.

        :raises ValidationError: for every field at fault.
        :raises ForbiddenError: if requesting for another member.
        """

    def why_not(self, request_id_or_shortlist: str | dict[str, Any], expert_id: int) -> str:
        """Says in one sentence why an expert is not proposed, or where it
        ranks.

        ``request_id_or_shortlist`` is either the key of an issued request,
        ``"THA/THA-2025-07"`` (the requester's code, a slash and its id, as
        an engagement's ``request_id`` reads), ranked again now as
        ``propose`` would rank it; or a shortlist that ``match_request`` or
        ``preview`` returned, read as it is. The sentence names the first
        filter that removed the expert with its reason, then every other
        filter it fails (``E-0004 was removed by the filter "conflict of
        interest": works for a government body of THA, the requesting
        state``); or says that the expert is proposed, or ranked below the
        number wanted, or was not considered at all.

        :raises ValidationError: with ``field`` ``"request_id"`` for a key
            without a slash, or a field under ``shortlist`` for a shortlist
            of the wrong shape.
        :raises NotFoundError: if no request was issued under that key.
        :raises ForbiddenError: for a key, unless acting as the RSO or the
            requesting member.
        """

    def coverage(
        self,
        *,
        node_threshold: int = 1,
        member_languages: dict[str, list[str]] | None = None,
        ending_within_days: int = 30,
        working_level: str = "B2",
        today: str | None = None,
    ) -> dict[str, Any]:
        """What the included experts cover, and the gaps a call for
        nominations should fill.

        Returns ``today``; ``included`` (how many experts are counted);
        ``themes`` (``[code, count]`` per thematic node in taxonomy order,
        a node counting the experts of the nodes below it once each);
        ``competencies`` (``[code, count]`` in the sheet's order);
        ``languages`` (tag to count of experts at ``working_level`` or
        above); ``nominators`` (member code to count); ``thin_themes``
        (nodes with fewer than ``node_threshold`` experts);
        ``language_gaps`` (``{"tag", "members"}`` for each language of
        ``member_languages`` nobody included speaks at the working level);
        ``terms_ending`` (``{"expert", "last_day"}`` for terms ending
        from ``today`` through ``ending_within_days`` days later, soonest
        first) and ``terms_ending_count``. Only included experts count.
        The RSO reads the report whole; an analyst reads it with
        ``terms_ending`` empty (it names experts) and only its count.

        :param node_threshold: a node with fewer experts is a gap (0 or
            more).
        :param member_languages: the languages of member states, by state
            code, as language tags: ``{"KHM": ["km"], "THA": ["th"]}``.
            The membership table holds none, so by default there are no
            language gaps.
        :param ending_within_days: how far ahead terms ending are listed,
            0 to 3660 days; by default the 30 days in which a term's
            reminder goes out.
        :param working_level: the level at which a language counts (a CEFR
            level or ``"working"``, ``"fluent"``, ``"native"`` ...).
        :param today: the day of the report (``YYYY-MM-DD``); by default
            the roster's today.
        :raises ValidationError: for every option at fault, all in one
            (``node_threshold`` for a negative count,
            ``member_languages.KHM`` for a code that is not a member
            state, ``member_languages.KHM[0]`` for an unknown tag,
            ``today`` for a day that does not exist).
        :raises ForbiddenError: unless acting as the RSO.
        """

    def sweep(self) -> dict[str, Any]:
        """Expires lapsed terms and queues reminders of terms ending soon.

        Returns ``{"expired": [ids], "reminded": [ids]}``.
        """

    def verify_audit_trail(self) -> dict[str, Any]:
        """Checks the audit trail's hash chain.

        Returns ``{"outcome": "ok", "entries": n}`` or the first break.
        """

    def register(self, expert_id: int, registration: dict[str, Any]) -> dict[str, Any]:
        """Completes an invited expert's registration.

        ``registration`` is ``{"profile": ..., "cv_document": id}``. Returns
        the expert.

        :raises TransitionError: unless the expert is invited.
        :raises ValidationError: for every field at fault.
        """

    def include(self, expert_id: int) -> dict[str, Any]:
        """Includes a registered expert for one year from today, or renews
        an included or expired one. Returns the expert with its ``term``.

        :raises TransitionError: unless the expert is registered, included
            or expired.
        """

    def revoke(self, expert_id: int, reason: str) -> dict[str, Any]:
        """Revokes an inclusion; the reason is kept in the audit trail.

        :raises TransitionError: unless the expert is included.
        """

    def expert(self, expert_id: int) -> dict[str, Any]:
        """One expert: ``id``, ``version``, ``status``, ``profile``,
        ``nominations`` and, once set, ``cv_document`` and ``term``.

        The RSO sees every expert; an expert itself; a member state or
        observer the experts it nominated, and any other included expert
        with its referees' ``email`` left empty.

        :raises NotFoundError: if there is no such expert.
        :raises ForbiddenError: if the acting party may not see it.
        """

    def experts(self) -> list[dict[str, Any]]:
        """Every expert, ordered by id.

        :raises ForbiddenError: unless acting as the RSO.
        """

    def included_experts(self) -> list[dict[str, Any]]:
        """The experts included on the roster, ordered by id, for members
        to search: whole for the RSO and for the member that nominated
        them, otherwise with their referees' ``email`` left empty.

        :raises ForbiddenError: unless acting as the RSO or a member state
            or observer.
        """

    def audit_trail(self, expert_id: int | None = None) -> list[dict[str, Any]]:
        """The audit trail, oldest first, of one expert or of all: ``seq``,
        ``expert``, ``actor``, ``at``, ``from``, ``to`` and ``reason``.

        :raises ForbiddenError: unless acting as the RSO.
        """

    def match_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """Ranks the roster's experts for a mission request.

        Returns the shortlist: ``ranked`` (best first; each with ``rank``,
        ``expert``, ``total``, ``flags`` and ``parts``, every part with
        ``name``, ``fraction``, ``weight``, ``points`` and an
        ``explanation``) and ``excluded`` (each with the first ``filter``
        that removed the expert and every ``(filter, reason)`` pair).

        :raises ValidationError: for every field at fault.
        :raises ForbiddenError: if requesting for another member.
        """

    def propose(self, requester: str, request_id: str, expert_id: int) -> dict[str, Any]:
        """Proposes an expert for a request issued by ``match_request``.

        Returns the engagement: ``request_id`` (``"THA/THA-2025-07"``, the
        requester's code and its own id), ``expert``, ``window``,
        ``state`` (``"proposed"``) and ``version``. Proposing again
        returns the stored proposal.

        :raises ForbiddenError: unless acting as the RSO.
        :raises NotFoundError: if the request was never issued.
        :raises ValidationError: with ``field`` ``"expert"`` if a hard
            filter leaves the expert out (the reason is in the message).
        """

    def accept(self, requester: str, request_id: str, expert_id: int) -> dict[str, Any]:
        """Confirms a proposed engagement, after checking the filters again.

        Returns the engagement, now ``"accepted"``; accepting again returns
        it unchanged.

        :raises ForbiddenError: unless acting as the RSO, the requesting
            member or the expert.
        :raises NotFoundError: if the request was never issued.
        :raises ValidationError: with ``field`` ``"state"`` if the
            engagement is declined or completed, or ``"expert"`` if the
            expert was never proposed for the request, if a filter now
            leaves the expert out, or if the request already has all the
            experts it wants (until one of them declines). The load cap and
            the request's demand are checked again as the acceptance is
            recorded: of two accepts at once that the cap or the demand
            cannot both take, one is refused this way.
        """

    def decline_engagement(self, requester: str, request_id: str, expert_id: int) -> dict[str, Any]:
        """Declines a proposed or accepted engagement, freeing the expert's
        days. A declined expert may be proposed again.

        Returns the engagement, now ``"declined"``; declining again returns
        it unchanged.

        :raises ForbiddenError: unless acting as the RSO, the requesting
            member or the expert.
        :raises NotFoundError: if the request was never issued.
        :raises ValidationError: with ``field`` ``"expert"`` if the expert
            was never proposed for the request, or ``"state"`` if the
            mission is completed.
        """

    def complete(
        self,
        requester: str,
        request_id: str,
        expert_id: int,
        feedback: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Records an accepted mission as carried out.

        ``feedback``, when at hand, is ``{"rating": 1..5, "comment": ...}``:
        the rating runs from 1 (unsatisfactory) through 3 (met
        expectations) to 5 (outstanding); the comment is optional text of
        at most 2,000 characters, kept in Unicode NFC, on one line. Feedback
        that arrives later goes through ``record_feedback``. Returns the
        engagement, now ``"completed"``, with ``feedback`` once recorded:
        ``rating``, ``comment`` (when given), ``recorded_by`` (the acting
        party, such as ``"rso:python"``) and ``recorded_at``.

        Completing again returns the stored engagement unchanged, or
        records the feedback if it has none yet.

        :raises ForbiddenError: unless acting as the RSO.
        :raises ValidationError: with ``field`` ``"feedback.rating"`` or
            ``"feedback.comment"`` for feedback at fault, ``"state"`` if
            the engagement is not accepted or completed or if the mission
            has not started yet (it is completed from its first day), and
            ``"feedback"`` if different feedback is already recorded
            (recorded feedback is never replaced).
        """

    def record_feedback(
        self, requester: str, request_id: str, expert_id: int, feedback: dict[str, Any]
    ) -> dict[str, Any]:
        """Records the feedback of a completed mission that has none yet.

        ``feedback`` is as for ``complete``. Returns the engagement with its
        ``feedback``; the same feedback again returns it unchanged.

        :raises ForbiddenError: unless acting as the RSO.
        :raises ValidationError: with ``field`` ``"feedback.rating"`` or
            ``"feedback.comment"`` for feedback at fault, ``"state"`` unless
            the engagement is completed, and ``"feedback"`` if different
            feedback is already recorded.
        :raises ConflictError: if the engagement changed in another way
            while the feedback was being recorded; read it again and retry.
            The same feedback recorded twice at once is not a conflict:
            both calls return the engagement with it.
        """
