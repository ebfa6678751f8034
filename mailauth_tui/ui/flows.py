"""The step flows of the domain screen: add -> code -> records -> result, and the single steps
(resend, delete, rotate, report). Each is one linear coroutine that awaits its modal's typed
result (``push_screen(..., wait_for_dismiss=True)``), run by the screen in a worker."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from textual.app import App
from textual.notifications import SeverityLevel
from textual.screen import Screen

from mailauth_tui.core.textsafe import printable
from mailauth_tui.registry.errors import RegistryError
from mailauth_tui.registry.models import CodeCheck, CodeSent, DomainRow, VerifyOutcome
from mailauth_tui.registry.service import Registry
from mailauth_tui.ui.demo_hooks import DemoHooks
from mailauth_tui.ui.widgets.domain_table import DomainTable

T = TypeVar("T")


class FlowHost(Protocol):
    """What the flows need of the screen they run on."""

    registry: Registry
    demo: DemoHooks | None

    @property
    def app(self) -> App[Any]: ...

    @property
    def table(self) -> DomainTable: ...

    def after_change(self) -> None:
        """The table's rows changed: redraw what depends on them."""
        ...

    def select(self, domain: str) -> None: ...

    def show_only(self, domains: tuple[str, ...], title: str) -> None: ...

    def tell(
        self, text: str, title: str, severity: SeverityLevel = "information", timeout: float = 5
    ) -> None: ...


class StepFlows:
    def __init__(self, host: FlowHost) -> None:
        self._host = host

    @property
    def _registry(self) -> Registry:
        return self._host.registry

    async def _ask(self, screen: Screen[T]) -> T:
        return await self._host.app.push_screen(screen, wait_for_dismiss=True)

    def _put(self, row: DomainRow) -> None:
        self._host.table.put(row)
        self._host.after_change()

    def refresh_row(self, domain: str) -> DomainRow | None:
        """Read the domain again (a modal may have changed it); None when it is gone."""
        try:
            row = self._registry.get(domain)
        except RegistryError:
            self._host.table.drop(domain)
            self._host.after_change()
            return None
        self._put(row)
        return row

    async def add(self) -> None:
        from mailauth_tui.ui.screens.add_domain import AddDomainScreen

        sent = await self._ask(AddDomainScreen(self._registry))
        if sent is None:
            return
        self._put(sent.domain)
        self._host.select(sent.domain.domain)
        self._code_sent_notice(sent)
        await self.code(sent.domain.domain)

    def _code_sent_notice(self, sent: CodeSent) -> None:
        if self._host.demo is not None:
            self._host.tell(
                f"The code was mailed to {printable(sent.domain.address)}. "
                "Demo: press ctrl+o to read it in the demo outbox.",
                "Code sent",
                timeout=10,
            )
        else:
            # The title says what happened; the text where to (never the title again).
            address = printable(sent.domain.address)
            self._host.tell(f"To {address} ({printable(sent.delivered_to)}).", "Code sent")

    async def code(self, domain: str) -> None:
        from mailauth_tui.ui.screens.enter_code import EnterCodeScreen

        check: CodeCheck | None = await self._ask(EnterCodeScreen(self._registry, domain))
        row = self.refresh_row(domain)
        if check is None or not check.ok or row is None:
            return
        self._host.app.clear_notifications()  # "code sent, read it in the outbox" is done with
        await self.records(domain)

    async def records(self, domain: str) -> None:
        from mailauth_tui.ui.screens.records import RecordsScreen

        outcome = await self._ask(RecordsScreen(self._registry, domain, self._host.demo))
        if outcome is None:
            self.refresh_row(domain)
            return
        if not outcome.dry_run:  # a dry run's row is what would be stored, not what is
            self._put(outcome.domain)
        await self.result(outcome)

    async def result(self, outcome: VerifyOutcome) -> None:
        from mailauth_tui.ui.screens.verify_result import VerifyResultScreen

        await self._ask(VerifyResultScreen(outcome))

    async def detail(self, domain: str) -> None:
        from mailauth_tui.ui.screens.domain_detail import DomainDetailScreen

        await self._ask(DomainDetailScreen(self._registry, domain))

    async def resend(self, domain: str) -> None:
        try:
            sent = await self._registry.resend(domain)
        except RegistryError as exc:
            self._host.tell(str(exc), "Resend", "error")
            return
        self._put(sent.domain)
        self._code_sent_notice(sent)

    async def _confirmed(self, title: str, body: str, button: str) -> bool:
        from mailauth_tui.ui.screens.confirm import ConfirmScreen

        sure: bool | None = await self._ask(ConfirmScreen(title, body, button))
        return bool(sure)

    async def delete(self, row: DomainRow) -> None:
        name = printable(row.domain_unicode)
        if not await self._confirmed(
            f"Delete {name}?",
            f"{name} and its DKIM keys leave the registry. Mail from {name} is then sent "
            "from the system sender address. This cannot be undone.",
            "Delete",
        ):
            return
        try:
            self._registry.remove(row.domain)
        except RegistryError as exc:
            self._host.tell(str(exc), "Delete", "error")
            return
        self._host.table.drop(row.domain)
        self._host.after_change()
        self._host.tell(f"{name} and its DKIM keys left the registry.", "Deleted")

    async def rotate(self, row: DomainRow) -> None:
        name = printable(row.domain_unicode)
        if not await self._confirmed(
            f"New DKIM key for {name}?",
            "A new key and selector are made. Publish the new DKIM record (r) and verify: "
            "the old key keeps signing until the new one is seen in DNS.",
            "Rotate",
        ):
            return
        try:
            new_row = await self._registry.rotate_dkim(row.domain)
        except RegistryError as exc:
            self._host.tell(str(exc), "Rotate DKIM key", "error")
            return
        self._put(new_row)
        self._host.tell(
            f"New DKIM key for {name}: publish its record (r), then verify (v).", "Rotated"
        )

    async def report(self) -> None:
        from mailauth_tui.ui.screens.report import ReportScreen

        chosen = await self._ask(ReportScreen(self._registry))
        if chosen:
            plural = "s" if len(chosen) != 1 else ""
            self._host.show_only(chosen, f"{len(chosen)} domain{plural}")
