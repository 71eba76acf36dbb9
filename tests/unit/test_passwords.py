"""Passwords are refused by length and guessability (zxcvbn), with a message that helps."""

from __future__ import annotations

import pytest

from facility.core.errors import Invalid
from maintenance.people.users import RESERVED_USERNAMES, WeakPassword, check_password


@pytest.mark.parametrize(
    "password", ["12345678", "password", "password1", "qwertyuiop", "iloveyou", "11111111"]
)
def test_passwords_from_the_lists_attackers_try_first_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword, match="passphrase") as caught:
        check_password(password)
    assert isinstance(caught.value, Invalid)  # a 422 in the API, one line in the CLI


def test_a_password_made_of_the_user_name_is_refused() -> None:
    with pytest.raises(WeakPassword):
        check_password("wang.wei", username="wang.wei")


@pytest.mark.parametrize("password", ["short", "x" * 257])
def test_length_is_checked_first(password: str) -> None:
    with pytest.raises(WeakPassword, match="8-256 characters"):
        check_password(password)


@pytest.mark.parametrize(
    "password",
    ["chiller plant rooftop", "work-order-pass-1", "Facility2026!", "维修师傅-2号楼-空调"],
)
def test_passphrases_and_ordinary_strong_passwords_pass(password: str) -> None:
    check_password(password)


def test_the_systems_own_actor_names_are_reserved() -> None:
    assert {"system", "rules", "dispatch", "qr-link"} <= RESERVED_USERNAMES
