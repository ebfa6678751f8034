"""Input validation for the step modals: the organisation address and the verification code.

The address checks give short messages first ("missing @", "domain has no dot") because they appear
under the Input while the user types; email-validator then catches the rest with its own
wording. The same functions back the Validators and the screens' previews, so what the preview
shows is exactly what would be submitted.
"""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from textual.validation import ValidationResult, Validator

from mailauth_tui.core.errors import InvalidDomainError
from mailauth_tui.core.names import DomainName, normalize_domain
from mailauth_tui.registry.codes import ALPHABET, MIN_CODE_LENGTH, normalize_code


@dataclass(frozen=True, slots=True)
class AddressCheck:
    """An organisation address as the add-domain step sees it.

    ``domain`` is set as soon as the part after the @ is a valid domain, even when the local
    part is still wrong, so the preview can show the sending domain while the user types.
    """

    ok: bool
    message: str  # why it is not ok; "" when ok
    address: str = ""  # normalised (domain lower case, Unicode form) when ok
    domain: DomainName | None = None


def check_address(text: str) -> AddressCheck:
    """Check an organisation email address without any DNS look-up."""
    value = text.strip()
    if not value:
        return AddressCheck(False, "type the organisation email address, e.g. admin@example.com")
    if "@" not in value:
        return AddressCheck(False, "missing @: give a full address such as admin@example.com")
    local, _, host = value.rpartition("@")
    domain = _domain_of(host)
    if not local:
        return AddressCheck(False, "nothing before the @", domain=domain)
    if "@" in local:
        return AddressCheck(False, "more than one @", domain=domain)
    if not host:
        return AddressCheck(False, "nothing after the @")
    if "." not in host.rstrip("."):
        return AddressCheck(False, "domain has no dot: give a full domain such as example.com")
    try:
        # test_environment lets special-use names (.test, .example) through; deliverability
        # would mean DNS look-ups on every key press.
        valid = validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        return AddressCheck(False, str(exc), domain=domain)
    if domain is None:
        # email-validator accepted something core.names refuses (e.g. a numeric last label):
        # the registry would refuse it too, so say why now.
        return AddressCheck(False, _domain_error(host))
    return AddressCheck(True, "", address=valid.normalized, domain=domain)


def _domain_of(host: str) -> DomainName | None:
    try:
        return normalize_domain(host) if host else None
    except InvalidDomainError:
        return None


def _domain_error(host: str) -> str:
    try:
        normalize_domain(host)
    except InvalidDomainError as exc:
        return str(exc)
    return "the domain is not valid"


class OrganisationAddress(Validator):
    """Textual Validator for the add-domain Input; the failure text is the inline message."""

    def validate(self, value: str) -> ValidationResult:
        result = check_address(value)
        return self.success() if result.ok else self.failure(result.message, value)


class VerificationCode(Validator):
    """Refuses what can never be a code, so a typo does not cost one of the limited tries;
    the registry alone decides whether it is the right code."""

    def validate(self, value: str) -> ValidationResult:
        message = code_problem(value)
        return self.success() if not message else self.failure(message, value)


def code_problem(text: str) -> str:
    """Why ``text`` cannot be a verification code; "" when it might be one.

    Case, spaces and dashes do not matter (codes are mailed grouped, ``K7Q2-M9XD-PT``).
    """
    code = normalize_code(text)
    if not code:
        return "type the code from the email"
    wrong = sorted({c for c in code if c not in ALPHABET})
    if wrong:
        shown = " ".join(repr(c) for c in wrong[:5])
        return f"not in a code: {shown} (codes use 2-9 and A-Z without I, L, O)"
    if len(code) < MIN_CODE_LENGTH:
        return f"too short: a code has at least {MIN_CODE_LENGTH} characters"
    return ""
