"""The sandbox (fake Telegram, provider simulators, playground) stays apart from the product (issue 13).

Read from the source's syntax tree, not by importing: the product's packages never import ``sandbox``; a simulator
imports from the product only its provider's wire formats and pure helpers (listed below), and those import no I/O
library and nothing else of the product, so a simulator cannot share the code it stands in front of. ``dukabot
playground`` finds the sandbox by name at run time, and says so in one line when an installation has none.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from admin import shops
from sandbox.registry import SIMULATORS, simulator
from webhooks.cli import main

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("core", "payments", "flows", "admin", "bot", "webhooks")

# Shared by every simulator: the clock (so a test's FakeClock drives it), money, and the error type a wire parser
# raises. core.unicode and payments.json_fields are helpers of the wire parsers.
# payments.base re-exports the declaration and refund types of the modules beside it: pure as well.
SHARED_PURE = frozenset({"core.clock", "core.money", "core.texts", "core.unicode", "payments.base"}) | frozenset(
    {"payments.info", "payments.entry", "payments.refunding", "payments.json_fields"}
)

# What each simulator may import of its provider's folder: the wire formats and pure helpers.
PURE_MODULES = {
    "mpesa": frozenset(f"payments.mpesa.{name}" for name in ("wire", "wire_c2b", "codes", "fields", "status")),
    "paystack": frozenset(f"payments.paystack.{name}" for name in ("wire", "signature", "limits", "reference")),
    "flutterwave": frozenset({"payments.flutterwave.wire"}),
    "corefy": frozenset({"payments.corefy.wire", "payments.corefy.signature"}),
    "paypal": frozenset(f"payments.paypal.{name}" for name in ("wire", "currencies", "conversion")),
    "feexpay": frozenset(f"payments.feexpay.{name}" for name in ("wire", "networks")),
    "stripe": frozenset(f"payments.stripe.{name}" for name in ("currencies", "signature", "keys")),
    "telegram": frozenset[str](),
}

IO_LIBRARIES = frozenset({"aiohttp", "aiogram", "httpx", "sqlalchemy", "asyncpg", "aiosqlite", "redis", "alembic"})


def module_file(name: str) -> Path | None:
    path = ROOT.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST, at_run_time: bool) -> Iterator[ast.AST]:
    for node in ast.iter_child_nodes(tree):
        if at_run_time and _type_checking(node):
            continue  # annotations only: nothing is imported when the program runs
        yield node
        yield from _nodes(node, at_run_time)


def imported(path: Path, *, at_run_time: bool = False) -> Iterator[str]:
    """The absolute names of the modules ``path`` imports (``from a.b import c`` names ``a.b.c`` when that is a
    module, else ``a.b``), wherever the import statement is, even inside a function or (unless ``at_run_time``)
    ``if TYPE_CHECKING``."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in _nodes(ast.parse(path.read_text(encoding="utf-8")), at_run_time):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                name = f"{base}.{alias.name}"
                yield name if module_file(name) else base


def top(name: str) -> str:
    return name.split(".")[0]


def python_files(*packages: str) -> list[Path]:
    return sorted(file for package in packages for file in (ROOT / package).rglob("*.py"))


def test_no_module_of_the_product_imports_the_sandbox() -> None:
    files = python_files(*PRODUCT)
    assert len(files) > 100  # the walk found the product
    offenders = [
        f"{file.relative_to(ROOT)} imports {name}"
        for file in files
        for name in imported(file)
        if top(name) == "sandbox"
    ]
    assert offenders == []


@pytest.mark.parametrize("provider", sorted(PURE_MODULES))
def test_a_simulator_imports_only_its_providers_wire_and_pure_helpers(provider: str) -> None:
    allowed = SHARED_PURE | PURE_MODULES[provider]
    files = python_files(f"sandbox/{provider}")
    assert files
    used = {name for file in files for name in imported(file) if top(name) in PRODUCT}
    assert used - allowed == set(), f"sandbox/{provider} imports more of the product than its wire modules"


@pytest.mark.parametrize("provider", sorted(PURE_MODULES))
def test_the_modules_a_simulator_shares_are_pure(provider: str) -> None:
    """What a simulator may import imports, in turn, no I/O library and nothing of the product outside the list."""
    allowed = SHARED_PURE | PURE_MODULES[provider]
    for name in sorted(allowed):
        file = module_file(name)
        assert file is not None, f"{name} is listed but does not exist"
        # What the simulator loads when it runs: names imported for type annotations only are not loaded.
        names = set(imported(file, at_run_time=True))
        assert {top(n) for n in names} & IO_LIBRARIES == set(), f"{name} imports an I/O library"
        assert {n for n in names if top(n) in PRODUCT} - allowed == set(), f"{name} imports more of the product"


def test_the_sandbox_has_a_simulator_for_every_online_provider_of_the_product() -> None:
    assert set(SIMULATORS) == set(shops.PROVIDERS) - {"manual"}
    assert all(entry.provider == name for name, entry in SIMULATORS.items())


def test_a_provider_without_a_simulator_is_named_in_the_refusal() -> None:
    with pytest.raises(LookupError) as refused:
        simulator("nopay")
    simulators = "mpesa, paystack, flutterwave, stripe, paypal, feexpay, corefy, telegram"
    assert str(refused.value) == f"the sandbox has no simulator for 'nopay' (it has: {simulators})"


def test_the_playground_answers_in_one_line_when_the_sandbox_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules is how Python marks a module that cannot be imported: as if the package were left out.
    for name in [name for name in sys.modules if top(name) == "sandbox"] + ["sandbox"]:
        monkeypatch.setitem(sys.modules, name, None)
    result = CliRunner().invoke(main, ["playground"])
    assert result.exit_code == 1
    assert (
        result.output == "Error: The playground is not installed here: this copy of dukabot has no sandbox package.\n"
    )
