"""``dukabot orders export`` and ``dukabot tenant receipt`` as an operator runs them, bad input included."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook

from admin.exports import COLUMNS
from tests.integration.test_cli import TOKEN, one_line_error
from webhooks.cli import main


def test_an_export_and_the_receipt_details_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for name in ("DUKABOT_DATABASE_URL", "DUKABOT_SECRET_KEYS"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(main, list(args), env={"DUKABOT_DATA_DIR": str(tmp_path / "var")})

    def ok(*args: str) -> Result:
        result = run(*args)
        assert result.exit_code == 0, result.output
        return result

    def refused(code: int, *args: str) -> str:
        result = run(*args)
        if code == 2:  # Click's usage error: the usage, then the error on its last line
            assert result.exit_code == 2 and result.stdout == "", result.output
            return result.stderr.strip().split("\n")[-1]
        return one_line_error(result, code)

    ok("db", "upgrade")
    ok("tenant", "add", "duka", "--name", "Mama Duka", "--bot-token", TOKEN, "--admin", "111")

    shown = ok("tenant", "receipt", "duka", "--address", "Moi Avenue 12\\nNairobi", "--tax-id", "p051234567x")
    assert shown.stdout.strip() == ("Receipts of 'duka': address Moi Avenue 12, Nairobi; tax id P051234567X; VAT none.")
    shown = ok("tenant", "receipt", "duka", "--vat-rate", "16")
    assert shown.stdout.strip().endswith("VAT 16% (included in prices).")
    assert refused(2, "tenant", "receipt", "duka", "--vat-rate", "16", "--prices-exclude-vat") == (
        "Error: prices must include VAT: checkout charges catalog prices as they are and the receipt takes VAT out of "
        "the amount paid; raise the catalog's prices by the VAT rate instead (dukabot catalog import)"
    )
    assert refused(1, "tenant", "receipt", "duka", "--vat-rate", "sixteen") == (
        "Error: not a VAT rate: 'sixteen' (a percentage such as 16)"
    )
    assert refused(1, "tenant", "receipt", "nowhere", "--tax-id", "P1") == "Error: no shop with slug 'nowhere'"

    csv_out = ok("orders", "export", "duka", "--from", "2026-01-01", "--to", "2026-01-31")
    assert csv_out.stdout_bytes == ("\ufeff" + ",".join(COLUMNS) + "\r\n").encode()
    target = tmp_path / "january.xlsx"
    saved = ok(
        "orders", "export", "duka", "--from", "2026-01-01", "--to", "2026-01-31", "--format", "xlsx", "-o", str(target)
    )
    assert "orders 0, payments 0; paid KES 0, refunded KES 0" in saved.stdout
    sheet = load_workbook(io.BytesIO(target.read_bytes())).active
    assert sheet is not None and [list(row) for row in sheet.iter_rows(values_only=True)] == [list(COLUMNS)]

    export = ("orders", "export", "duka")
    assert refused(2, *export, "--from", "2026-13-01", "--to", "2026-12-31") == (
        "Error: Invalid value for '--from': '2026-13-01' does not match the format '%Y-%m-%d'."
    )
    assert refused(1, *export, "--from", "2026-02-01", "--to", "2026-01-01") == (
        "Error: --from 2026-02-01 is after --to 2026-01-01"
    )
    assert refused(1, *export, "--from", "2020-01-01", "--to", "2026-01-01") == (
        "Error: at most 366 days at a time: export a long period in parts"
    )
    assert refused(1, "orders", "export", "nowhere", "--from", "2026-01-01", "--to", "2026-01-02") == (
        "Error: no shop with slug 'nowhere'"
    )
    assert refused(2, *export, "--from", "2026-01-01", "--to", "2026-01-02", "--format", "pdf") == (
        "Error: Invalid value for '--format': 'pdf' is not one of 'csv', 'xlsx'."
    )
