"""What an operator sets for a provider: the base of every provider's settings model (``payments/<name>/settings.py``).

One pydantic model per provider, its fields in the order the operator reads them. A field is a secret when typed
:class:`~pydantic.SecretStr` (stored encrypted, shown masked, never echoed); anything else is a plain option. Each
field says, through :func:`setting`, how ``dukabot provider set`` takes it:

* ``flag``: its own option, ``--field-name VALUE`` (secrets also from ``DUKABOT_<PROVIDER>_<FIELD>``, or asked for
  with hidden input when required);
* ``option``: only as ``--option field_name=VALUE`` (the rarer settings, to keep the help short);
* ``managed``: never typed in; made by one of the provider's own commands and kept when the rest is set again.

Values are stored as the model leaves them (text), so what the provider reads at run time does not change. The CLI's
help is read from ``payments/<name>/settings.json``, written from the model by ``python -m payments.setup`` (a test
checks that it is current), because ``dukabot --help`` must not import pydantic.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final, Literal, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

CliKind = Literal["flag", "option", "managed"]
SECRET_MAX: Final = 512
_LOCAL_HOSTS: Final = {"localhost", "127.0.0.1", "::1"}
_SWITCH: Final = {
    "on": True,
    "yes": True,
    "true": True,
    "1": True,
    "off": False,
    "no": False,
    "false": False,
    "0": False,
}


def setting(help: str, *, metavar: str = "TEXT", cli: CliKind = "flag", default: Any = ...) -> Any:
    """A field of a settings model: ``help`` is its line in ``--help``; without ``default`` it is required."""
    return Field(default, description=help, json_schema_extra={"cli": cli, "metavar": metavar})


class ProviderSetup(BaseModel):
    """The settings of one provider, as given (validated) and as stored."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
    provider: ClassVar[str]

    @model_validator(mode="before")
    @classmethod
    def _as_text(cls, data: Any) -> Any:
        """Everything arrives as text (the command line, the stored JSON), trimmed; None means not given."""
        if not isinstance(data, Mapping):
            return data
        secret = cls.fields(secret=True)
        given = {key: str(value).strip() for key, value in data.items() if value is not None}
        return {key: value for key, value in given.items() if value or key not in secret}  # an empty secret: none

    @classmethod
    def fields(cls, *, secret: bool | None = None, cli: CliKind | None = None) -> tuple[str, ...]:
        return tuple(
            name
            for name, field in cls.model_fields.items()
            if (secret is None or is_secret(field.annotation) == secret) and (cli is None or cli_kind(field) == cli)
        )

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> ProviderSetup:
        """Validate what an operator gave; :class:`SetupError` with one line (field, what is wrong, no value)."""
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise SetupError(explain(cls, error)) from None

    def stored(self) -> tuple[dict[str, str], dict[str, str]]:
        """The secrets (to be encrypted as one bundle) and the plain options, as text; unset fields left out."""
        secrets: dict[str, str] = {}
        options: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                secrets[name] = value.get_secret_value()
            elif value is not None:
                options[name] = str(value)
        return secrets, options

    @classmethod
    def facts(cls, secrets: Mapping[str, str], options: Mapping[str, Any]) -> dict[str, str]:
        """What ``tenant show`` adds about stored settings besides the masked secrets (the key's mode, live or test)."""
        return {}


class SetupError(ValueError):
    """Settings refused: one line fit for an operator, naming the field, never its value."""


def explain(model: type[ProviderSetup], error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "settings"
    kind = "secret" if field in model.fields(secret=True) else "option"
    if first["type"] == "missing":
        return f"{model.provider} needs the {kind} {field}"
    if first["type"] == "extra_forbidden":
        accepted = ", ".join(name for name in model.model_fields if cli_kind(model.model_fields[name]) != "managed")
        return f"{model.provider} takes {accepted}, not {field}"
    message = str(first["msg"]).removeprefix("Value error, ")
    return " ".join(f"{model.provider} {field} {message}".split())


def is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(is_secret(arg) for arg in get_args(annotation))


def cli_kind(field: Any) -> CliKind:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    kind = extra.get("cli", "flag")
    assert kind in ("flag", "option", "managed")
    return kind  # type: ignore[no-any-return]


def choices(annotation: Any) -> list[str]:
    """The values of a ``Literal`` field (``c2b_version``), for a choice on the command line."""
    for candidate in (annotation, *get_args(annotation)):
        if get_origin(candidate) is Literal:
            return [str(value) for value in get_args(candidate)]
    return []


def cli_manifest(model: type[ProviderSetup]) -> dict[str, Any]:
    """What the command line needs of a model, as plain JSON (see the module's docstring)."""
    rows = []
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        rows.append(
            {
                "name": name,
                "secret": is_secret(field.annotation),
                "required": field.is_required(),
                "cli": cli_kind(field),
                "help": field.description or "",
                "metavar": extra.get("metavar", "TEXT"),
                "choices": choices(field.annotation),
            }
        )
    return {"provider": model.provider, "fields": rows}


# --- checks shared by the models -------------------------------------------------------------------------------------


def _secret(value: SecretStr) -> SecretStr:
    text = value.get_secret_value()
    if not text:
        raise ValueError("is empty")
    if len(text) > SECRET_MAX or any(ch.isspace() for ch in text):
        raise ValueError(f"does not look right (no spaces, at most {SECRET_MAX} characters)")
    return value


def _base_url(value: str) -> str:
    value = value.rstrip("/")
    parts = urlsplit(value)
    host = parts.hostname or ""
    local = host in _LOCAL_HOSTS or host.startswith("127.")
    if not host or any(ch.isspace() for ch in value) or parts.query or parts.fragment:
        raise ValueError("is not a URL such as https://sandbox.example.com")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials: give them as the provider's secrets")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise ValueError("must be https:// (plain http:// only for localhost, e.g. a simulator)")
    return value


def _switch(value: str) -> str:
    text = value.lower()
    if text not in _SWITCH:
        raise ValueError("is on or off")
    return "on" if _SWITCH[text] else "off"


def _address(part: str) -> str:
    return str(ipaddress.ip_network(part, strict=False)) if "/" in part else str(ipaddress.ip_address(part))


def addresses(value: str, *, named: Mapping[str, str] = {}, allow_off: bool = False) -> str:
    """Comma-separated IP addresses or networks, normalised; ``named`` words (``safaricom``) kept as they are."""
    parts = [part.strip().lower() for part in value.split(",") if part.strip()]
    if allow_off and parts == ["off"]:
        return "off"
    try:
        cleaned = [part if part in named else _address(part) for part in parts]
    except ValueError:
        words = "".join(f" (or: {word})" for word in named)
        raise ValueError(f"is a comma-separated list of IP addresses{words}") from None
    if not cleaned:
        raise ValueError("is empty")
    return ",".join(cleaned)


def digits(low: int, high: int) -> AfterValidator:
    pattern = re.compile(rf"\d{{{low},{high}}}")

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"must be a number of {low} to {high} digits")
        return value

    return AfterValidator(check)


Secret = Annotated[SecretStr, AfterValidator(_secret)]
BaseUrl = Annotated[str, AfterValidator(_base_url)]
Switch = Annotated[str, AfterValidator(_switch)]


def write_manifests() -> list[Path]:
    """Write ``settings.json`` beside every registered provider: ``python -m payments.setup``."""
    from payments.providers import ENTRIES

    written = []
    for entry in ENTRIES.values():
        model = entry.setup()
        path = entry.settings_manifest
        path.write_text(json.dumps(cli_manifest(model), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_manifests():
        print(written_path)
