"""A provider ships its own words (``payments/<name>/locales``): importing the registry alone makes every key a
provider uses resolvable, and a key defined twice, in core or in a provider, still raises."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core import texts

ROOT = Path(__file__).resolve().parents[2]
PROVIDERS = ("mpesa", "paystack", "manual")


def _keys_in_code(folder: Path) -> set[str]:
    """The literal keys a provider's code hands to ``text(...)``/``has(...)`` (a call's first string argument)."""
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        if "from core.texts import" not in source:
            continue  # a ``text(...)`` here is something else (the Daraja wire reads a field by that name)
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            first = node.args[0]
            is_lookup = isinstance(node.func, ast.Name) and node.func.id in {"text", "has"}
            if is_lookup and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return found


def _shipped_keys(name: str) -> set[str]:
    return set(json.loads((ROOT / "payments" / name / "locales" / "en.json").read_text(encoding="utf-8")))


def test_importing_only_the_registry_finds_every_key_a_provider_uses() -> None:
    wanted: set[str] = set()
    for name in PROVIDERS:
        wanted |= _shipped_keys(name) | _keys_in_code(ROOT / "payments" / name)
        wanted |= {f"provider.{name}", f"method.{name}", f"testmode.hint.{name}"}
    probe = (
        "import json, sys\n"
        "import payments.providers\n"
        "from core.texts import has\n"
        "assert not any(m.startswith(('flows', 'admin', 'bot', 'webhooks')) for m in sys.modules)\n"
        "print(json.dumps(sorted(k for k in json.loads(sys.stdin.read()) if not has(k))))\n"
    )
    ran = subprocess.run(  # noqa: S603 - our own interpreter on our own probe
        [sys.executable, "-c", probe],
        input=json.dumps(sorted(wanted)),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert json.loads(ran.stdout) == []


def test_core_ships_no_provider_words() -> None:
    core_keys = set()
    for path in (ROOT / "core" / "locales").glob("*.json"):
        core_keys |= set(json.loads(path.read_text(encoding="utf-8")))
    for name in PROVIDERS:
        assert not core_keys & _shipped_keys(name)
    assert not [path.name for path in (ROOT / "core" / "locales").glob("*.json") if "mpesa" in path.name]


def test_a_provider_key_defined_twice_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "clashing_provider_locales"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "en.json").write_text(json.dumps({"provider.mpesa": "Another M-Pesa"}), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(texts, "_packages", [*texts._packages])
    texts.register_catalog("clashing_provider_locales")
    try:
        clash = r"clashing_provider_locales/en\.json redefines text keys: \['provider\.mpesa'\]"
        with pytest.raises(ValueError, match=clash):
            texts.text("provider.mpesa")
    finally:
        monkeypatch.undo()
        texts._catalog.cache_clear()
    assert texts.text("provider.mpesa") == "M-Pesa"
