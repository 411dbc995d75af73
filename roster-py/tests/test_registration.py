"""Invitations, CV uploads, the sweep and the audit chain from Python."""

from __future__ import annotations

import pytest

import roster

from samples import PDF, caseworker, nomination, protection_officer


def invited(r: roster.Roster) -> tuple[int, str, str]:
    """Nominates and invites the caseworker; returns id, token and address."""
    expert = caseworker()
    expert_id = r.nominate(nomination("PHL", expert))["expert"]
    out = r.invite(expert_id)
    assert out["status"] == "invited"
    return expert_id, out["invitation"]["token"], expert["email"]


def test_an_expert_redeems_uploads_and_registers(office: roster.Roster) -> None:
    r = office
    expert_id, token, email = invited(r)
    assert len(token) >= 32
    assert r.redeem_invitation(token, email.upper()) == expert_id
    with pytest.raises(roster.InvitationError) as used:
        r.redeem_invitation(token, email)
    with pytest.raises(roster.InvitationError) as unknown:
        r.redeem_invitation("not-a-token", email)
    assert str(used.value) == str(unknown.value)

    me = r.as_actor({"kind": "expert", "id": expert_id})
    cv = me.upload_cv(expert_id, "../../etc/cv.pdf", PDF)
    assert cv["kind"] == "pdf"
    assert cv["display_name"] == "cv.pdf"
    registered = me.register(
        expert_id, {"profile": r.expert(expert_id)["profile"], "cv_document": cv["id"]}
    )
    assert registered["status"] == "registered"


def test_a_wrong_address_leaves_the_token_usable(office: roster.Roster) -> None:
    r = office
    expert_id, token, email = invited(r)
    with pytest.raises(roster.InvitationError):
        r.redeem_invitation(token, "other@example.net")
    assert r.redeem_invitation(token, email) == expert_id


def test_a_cv_is_judged_by_its_content(office: roster.Roster) -> None:
    r = office
    expert_id, _, _ = invited(r)
    with pytest.raises(roster.ValidationError) as err:
        r.upload_cv(expert_id, "cv.pdf", b"MZ\x90\x00" + b"\x00" * 60)
    assert err.value.field == "cv"
    with pytest.raises(roster.ValidationError) as empty:
        r.upload_cv(expert_id, "cv.pdf", b"")
    assert empty.value.field == "cv"
    assert str(err.value) != str(empty.value)


def test_the_sweep_and_the_chain(office: roster.Roster) -> None:
    r = office
    invited(r)
    assert r.sweep() == {"expired": [], "reminded": []}
    report = r.verify_audit_trail()
    assert report["outcome"] == "ok"
    assert report["entries"] == 2


def test_a_stale_profile_edit_is_a_conflict_with_the_current_version(
    office: roster.Roster,
) -> None:
    r = office
    expert_id = r.nominate(nomination("PHL", caseworker()))["expert"]
    expert = r.expert(expert_id)
    first = r.update_profile(expert_id, expert["version"], expert["profile"])
    assert first["version"] == expert["version"] + 1
    with pytest.raises(roster.ConflictError) as stale:
        r.update_profile(expert_id, expert["version"], expert["profile"])
    assert stale.value.current_version == first["version"]


def test_withdrawing_ends_a_nomination(office: roster.Roster) -> None:
    r = office
    expert_id = r.nominate(nomination("PHL", caseworker()))["expert"]
    assert r.withdraw(expert_id, "the expert asked")["status"] == "withdrawn"
    with pytest.raises(roster.TransitionError):
        r.renew(expert_id)


def test_a_new_invitation_replaces_the_old_token(office: roster.Roster) -> None:
    r = office
    expert_id, first, email = invited(r)
    before = r.expert(expert_id)["version"]
    again = r.reinvite(expert_id)
    assert (again["status"], again["version"]) == ("invited", before + 1)
    assert r.expert(expert_id)["version"] == before + 1
    second = again["invitation"]["token"]
    assert second != first
    assert again["invitation"]["expires_at"] == "2025-03-15T05:00:00+00:00"
    with pytest.raises(roster.InvitationError):
        r.redeem_invitation(first, email)
    assert r.redeem_invitation(second, email) == expert_id
    # No second audit entry: the expert was invited already.
    assert [e["to"] for e in r.audit_trail(expert_id)] == ["nominated", "invited"]


def test_only_an_invited_expert_is_invited_again(office: roster.Roster) -> None:
    r = office
    expert_id = r.nominate(nomination("PHL", caseworker()))["expert"]
    with pytest.raises(roster.TransitionError) as caught:
        r.reinvite(expert_id)
    assert str(caught.value) == f"expert E-{expert_id:04d} cannot go from nominated to invited"
    r.invite(expert_id)
    with pytest.raises(roster.ForbiddenError):
        r.as_actor({"kind": "expert", "id": expert_id}).reinvite(expert_id)


def test_an_invited_expert_may_decline(office: roster.Roster) -> None:
    r = office
    expert_id, _, _ = invited(r)
    me = r.as_actor({"kind": "expert", "id": expert_id})
    declined = me.decline(expert_id, "no time this year")
    assert declined["status"] == "declined"
    trail = r.audit_trail(expert_id)
    assert (trail[-1]["from"], trail[-1]["to"]) == ("invited", "declined")
    assert trail[-1]["actor"] == f"expert:E-{expert_id:04d}"
    assert trail[-1]["reason"] == "no time this year"
    with pytest.raises(roster.TransitionError):
        r.decline(expert_id, "again")


def test_declining_is_for_the_expert_or_the_rso(office: roster.Roster) -> None:
    r = office
    expert_id, _, _ = invited(r)
    for actor in [{"kind": "expert", "id": expert_id + 1}, {"kind": "participant", "id": "PHL"}]:
        with pytest.raises(roster.ForbiddenError):
            r.as_actor(actor).decline(expert_id, "not mine to say")
    nominated = r.nominate(nomination("VNM", protection_officer()))["expert"]
    with pytest.raises(roster.TransitionError) as caught:
        r.decline(nominated, "never invited")
    assert str(caught.value) == f"expert E-{nominated:04d} cannot go from nominated to declined"
    assert r.decline(expert_id, "declined by telephone")["status"] == "declined"
