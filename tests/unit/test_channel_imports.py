"""Only the two Telegram implementations import a Telegram library: no module of the product outside ``bot/aiogram``
imports aiogram, none outside ``bot/ptb`` imports python-telegram-bot (``telegram``), and neither imports the other's.
So a third channel (WhatsApp) is one more folder, and the rest of the product cannot lean on either library. (That the
server's imports load no ``telegram`` until PTB is chosen is checked in tests/unit/test_lazy_aiogram.py's fresh
interpreter.)"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("core", "payments", "flows", "admin", "bot", "webhooks")
LIBRARIES = {"aiogram": ROOT / "bot" / "aiogram", "telegram": ROOT / "bot" / "ptb"}


def imported_roots(path: Path) -> set[str]:
    """The top-level modules ``path`` imports, anywhere in it (inside functions and TYPE_CHECKING blocks too)."""
    roots: set[str] = set()
    source = path.read_text(encoding="utf-8")
    if "aiogram" not in source and "telegram" not in source:  # most files: no need to parse them
        return roots
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_module_outside_its_implementation_imports_a_telegram_library() -> None:
    offenders = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            for library, home in LIBRARIES.items():
                if library in imported_roots(path) and home not in path.parents:
                    offenders.append(f"{path.relative_to(ROOT)} imports {library}")
    assert offenders == []


def test_each_implementation_is_found_by_the_guard() -> None:
    # The guard above means something only if the implementations do import their libraries.
    assert "aiogram" in imported_roots(ROOT / "bot" / "aiogram" / "channel.py")
    assert "telegram" in imported_roots(ROOT / "bot" / "ptb" / "channel.py")
