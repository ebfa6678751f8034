"""ui/validators.py: inline messages for the organisation address and the code."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth_tui.registry.codes import format_code, generate_code
from mailauth_tui.ui.validators import (
    OrganisationAddress,
    VerificationCode,
    check_address,
    code_problem,
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "type the organisation email address, e.g. admin@example.com"),
        ("admin", "missing @: give a full address such as admin@example.com"),
        ("@example.com", "nothing before the @"),
        ("admin@", "nothing after the @"),
        ("admin@localhost", "domain has no dot: give a full domain such as example.com"),
    ],
)
def test_short_messages_first(text: str, message: str) -> None:
    result = check_address(text)
    assert not result.ok
    assert result.message == message


def test_email_validator_catches_the_rest() -> None:
    result = check_address("ad min@example.com")
    assert not result.ok
    assert "SPACE" in result.message
    assert result.domain is not None and result.domain.ascii == "example.com"


def test_special_use_domains_are_accepted_without_dns() -> None:
    result = check_address("admin@mail.example.com")
    assert result.ok and result.message == ""
    assert result.domain is not None and result.domain.ascii == "mail.example.com"


def test_idn_address_gives_both_forms() -> None:
    result = check_address("Admin@Bücher.example")
    assert result.ok
    assert result.domain is not None
    assert (result.domain.unicode, result.domain.ascii) == (
        "bücher.example",
        "xn--bcher-kva.example",
    )
    assert result.address == "Admin@bücher.example"


def test_numeric_last_label_is_refused_with_the_registry_reason() -> None:
    result = check_address("admin@1.2.3.4")
    assert not result.ok
    assert result.domain is None


def test_validator_failure_carries_the_message() -> None:
    failed = OrganisationAddress().validate("admin")
    assert not failed.is_valid
    assert failed.failure_descriptions == [
        "missing @: give a full address such as admin@example.com"
    ]
    assert OrganisationAddress().validate("admin@example.org").is_valid


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("", "type the code from the email"),
        ("  - ", "type the code from the email"),
        ("ABCD-EFG", "too short: a code has at least 8 characters"),
        ("ABCD-EFGO-12", "not in a code: '1' 'O' (codes use 2-9 and A-Z without I, L, O)"),
        ("abcd efgh jk", ""),
        # Full-width letters and dash, as an East Asian input method types them.
        ("\uff21\uff22\uff23\uff24\uff0d\uff25\uff26\uff27\uff28\uff0d\uff2a\uff2b", ""),
    ],
)
def test_code_problems(typed: str, problem: str) -> None:
    assert code_problem(typed) == problem
    assert VerificationCode().validate(typed).is_valid is (problem == "")


@settings(max_examples=200, deadline=None)
@given(st.randoms(use_true_random=False), st.sampled_from(["upper", "lower", "spaced"]))
def test_any_generated_code_as_typed_is_accepted(rnd: object, how: str) -> None:
    code = format_code(generate_code(rand=rnd.choice))  # type: ignore[attr-defined]
    typed = {"upper": code, "lower": code.lower(), "spaced": code.replace("-", " ")}[how]
    assert code_problem(typed) == ""


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_address_check_never_raises(text: str) -> None:
    result = check_address(text)
    assert result.ok is (result.message == "")
