"""Finance imports the bank's remittance (CSV: reference, amount, date) against the payment runs,
and reads what each import did.

The application decides line by line (``application/remittances.py``): a line that names a run
line, for its exact amount, records the payment; any other is reported with why and records
nothing. An import that paid something is recorded, so its report has an address and the post
redirects there; one that paid nothing recorded nothing, and its report is the post's answer. A
file that is not such a CSV at all (or too large) is the error summary, and nothing changes.

The form carries a one-time key (``forms.run_once``) bound to the file's digest: a retried post of
the same file is answered with the first import's report, never recorded twice.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import NotFound
from domain.limits import MAX_IMPORT_BYTES
from domain.payment_runs import parse_line_reference
from domain.values import Actor, Role
from funding_engine.application import ImportRefused, RemittanceReport
from funding_engine.application.errors import IdempotencyKeyReused
from web.finance.forms import new_key, run_once
from web.finance.payment_runs import RUNS
from web.kit import Errors, Kit, money
from web.multipart import TooLarge, read_form_data

REMITTANCE = f"{RUNS}/remittance"
# The file, the form's few fields and the multipart framing around them. Under the application's own
# file limit and under the server's body limit (``api.middleware``, 1 MiB), which answers a larger
# body before any page sees it; a remittance of the most rows a file may hold is far smaller.
MAX_UPLOAD_BYTES = min(MAX_IMPORT_BYTES, 1_000_000)
SUMMARY_ROWS = 10
REUSED_FILE = (
    "This form was already sent with another file, and that file was imported. Choose the file again to import it."
)


def remittance_id_from(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise NotFound(f"no remittance {text[:40]!r}") from None


def add_routes(pages: APIRouter, kit: Kit) -> None:
    application = kit.application

    def import_page(
        request: Request, *, errors: Errors | None = None, status: int = 200, refused: ImportRefused | None = None
    ) -> Response:
        return kit.render(
            request,
            "finance/runs/remittance.html",
            title="Import a remittance",
            status=status,
            errors=errors,
            breadcrumbs=[(RUNS, "Payment runs")],
            bad_rows=refused.bad_rows if refused else [],
            max_megabytes=MAX_UPLOAD_BYTES // 1_000_000,
            once=new_key(),
        )

    def report_page(request: Request, report: RemittanceReport, filename: str = "") -> Response:
        return kit.render(
            request,
            "finance/runs/report.html",
            title="Remittance report",
            breadcrumbs=[(RUNS, "Payment runs"), (REMITTANCE, "Import a remittance")],
            report=report,
            filename=filename,
            run_numbers={line.line: _run_number(line.reference) for line in report.paid},
        )

    @pages.get(REMITTANCE)
    def remittance_form(request: Request) -> Response:
        """The form to upload the bank's remittance file."""
        kit.actor(request, Role.FINANCE)
        return import_page(request)

    @pages.post(REMITTANCE)
    async def import_remittance(request: Request) -> Response:
        actor = kit.actor(request, Role.FINANCE)
        errors = Errors()
        try:
            form, files = await read_form_data(kit, request, MAX_UPLOAD_BYTES)
        except TooLarge:
            errors.add("file", f"The file must be smaller than {MAX_UPLOAD_BYTES // 1_000_000} MB")
            return import_page(request, errors=errors, status=413)
        uploaded = next((file for file in files if file.field == "file"), None)
        if uploaded is None or not uploaded.content:
            errors.add("file", "Select the bank's remittance file (CSV)")
            return import_page(request, errors=errors, status=400)
        data = uploaded.content

        def command() -> RemittanceReport:
            return application.import_remittance(actor, data)

        fields = {"sha256": hashlib.sha256(data).hexdigest()}
        try:
            report, repeated = run_once(kit, actor, form, REMITTANCE, fields, command)
        except IdempotencyKeyReused:
            errors.add("file", REUSED_FILE)
            return import_page(request, errors=errors, status=409)
        except ImportRefused as refused:
            return import_page(request, errors=_refusal(uploaded.filename, refused), status=400, refused=refused)
        if report.remittance_id is None:
            return report_page(request, report, uploaded.filename)  # nothing was recorded: nothing to redirect to
        flash = _outcome(uploaded.filename, report)
        if repeated:
            flash = f"That form had already been sent: {uploaded.filename} was imported once, and not again"
        return kit.redirect(f"{REMITTANCE}/{report.remittance_id.hex}", flash=flash)

    @pages.get(REMITTANCE + "/{remittance_id}")
    def remittance_report(request: Request, remittance_id: str) -> Response:
        """What one import did: each line it paid, and each it reported with why."""
        actor: Actor = kit.actor(request, Role.FINANCE)
        return report_page(request, application.remittance_report(actor, remittance_id_from(remittance_id)))


def _refusal(filename: str, refused: ImportRefused) -> Errors:
    """The error summary of a file refused whole: each problem (the first few) on the file field."""
    errors = Errors()
    for number, bad in enumerate(refused.bad_rows[:SUMMARY_ROWS]):
        where = "" if bad.line is None else f"line {bad.line}: "
        errors.add("file" if number == 0 else f"bad-row-{number}", f"{filename or 'The file'}: {where}{bad.reason}")
    return errors


def _run_number(reference: str) -> int:
    found = parse_line_reference(reference)
    return found[0] if found else 0


def _outcome(filename: str, report: RemittanceReport) -> str:
    paid = len(report.paid)
    text = f"{filename} imported: {paid} payment{'' if paid == 1 else 's'} of {money(report.total_paid)} recorded"
    if report.reported:
        count = len(report.reported)
        text += f"; {count} line{'' if count == 1 else 's'} reported, recording nothing"
    return text
