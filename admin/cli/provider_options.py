"""The options of ``dukabot provider set``, made from each provider's settings model.

The models are pydantic, which ``--help`` must not import (tests/unit/test_cli_imports.py): the options are read
from the ``settings.json`` each provider folder keeps beside its model (``python -m payments.setup`` writes them; a
test checks that they are current). Only names reach Click: every value is checked by the model when it is stored."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import click

from payments.providers import ENTRIES

USAGE_WIDTH = 100


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    secret: bool
    required: bool
    cli: str  # flag, option (only as --option KEY=VALUE) or managed (never typed in)
    help: str
    metavar: str
    choices: tuple[str, ...]

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def envvar(self, provider: str) -> str:
        return f"DUKABOT_{provider}_{self.name}".upper()


@cache
def fields_of(provider: str) -> tuple[FieldSpec, ...]:
    data = json.loads(ENTRIES[provider].settings_manifest.read_text(encoding="utf-8"))
    return tuple(
        FieldSpec(
            name=row["name"],
            secret=row["secret"],
            required=row["required"],
            cli=row["cli"],
            help=row["help"],
            metavar=row["metavar"],
            choices=tuple(row["choices"]),
        )
        for row in data["fields"]
    )


def flag_options() -> list[click.Option]:
    """One Click option per flag any provider takes; the help says which providers take it."""
    users: dict[str, list[tuple[str, FieldSpec]]] = {}
    for provider in ENTRIES:
        for spec in fields_of(provider):
            if spec.cli == "flag":
                users.setdefault(spec.name, []).append((provider, spec))
    options = []
    for name, used in users.items():
        first = used[0][1]
        same_choices = all(spec.choices == first.choices for _, spec in used)
        # Providers sharing a flag may mean different things by it (whose key it is): each says its own, grouped.
        by_help: dict[str, list[str]] = {}
        for provider, spec in used:
            by_help.setdefault(spec.help, []).append(provider)
        words = ""
        for said, names in by_help.items():
            words += ("" if not words else " " if words.endswith(".") else "; ") + f"{', '.join(names)}: {said}"
        envvars = [spec.envvar(provider) for provider, spec in used if spec.secret]
        if envvars:
            words += f" [env var: {', '.join(envvars)}]"
        options.append(
            click.Option(
                [first.flag, name],
                metavar=first.metavar if not (same_choices and first.choices) else None,
                type=click.Choice(first.choices) if same_choices and first.choices else None,
                help=words,
            )
        )
    return options


def further_settings_help() -> str:
    parts = []
    for provider in ENTRIES:
        rest = [f"{spec.name}={spec.metavar}" for spec in fields_of(provider) if spec.cli == "option"]
        if rest:
            parts.append(f"{provider}: {', '.join(rest)}.")
    return " ".join(["Further settings, repeatable.", *parts])


def usage_lines() -> str:
    """``<name>    --api-key K ... [--till N] ...``: each provider's flags, required ones first."""
    lines = []
    for provider in ENTRIES:
        flags = [spec for spec in fields_of(provider) if spec.cli == "flag"]
        words = [f"{spec.flag} {spec.metavar}" for spec in flags if spec.required]
        words += [f"[{spec.flag} {spec.metavar}]" for spec in flags if not spec.required]
        line = f"  {provider:<9} "
        for word in words:
            if len(line) + len(word) > USAGE_WIDTH and line.strip() != provider:
                lines.append(line.rstrip())
                line = " " * 12
            line += word + " "
        lines.append(line.rstrip())
    return "\n".join(lines)


def title_of(provider: str) -> str:
    """The provider's name as people read it (``Manual payment``), from the text catalog."""
    return ENTRIES[provider].info.title()


def settings_given(
    ctx: click.Context, provider: str, values: Mapping[str, Any], extra: tuple[str, ...]
) -> tuple[dict[str, str], dict[str, str]]:
    """The secrets and options of ``provider`` on this command line (``--option``s, environment, hidden prompts);
    anything that belongs to another provider or to none is a usage error."""
    import os

    from click.core import ParameterSource

    specs = {spec.name: spec for spec in fields_of(provider)}
    flags = {name for name, spec in specs.items() if spec.cli == "flag"}
    further = [name for name, spec in specs.items() if spec.cli == "option"]
    given = dict(values)
    for pair in extra:
        key, equals, setting = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not equals or not key:
            raise click.UsageError(f"--option takes KEY=VALUE, not {pair[:40]!r}", ctx)
        if key in values:
            raise click.UsageError(f"give {key} as --{key.replace('_', '-')}, not as --option", ctx)
        if key not in further:
            raise click.UsageError(f"{provider} has no option {key!r}; it takes {', '.join(further)}", ctx)
        given[key] = setting
    for param, value in values.items():
        if value is not None and ctx.get_parameter_source(param) is ParameterSource.COMMANDLINE and param not in flags:
            raise click.UsageError(f"--{param.replace('_', '-')} is not an option of {provider}", ctx)
    for name, spec in specs.items():
        if spec.secret and not given.get(name):
            given[name] = os.environ.get(spec.envvar(provider)) or None
        if spec.required and not spec.secret and given.get(name) is None:
            how = spec.flag if spec.cli == "flag" else f"--option {name}=..."
            raise click.UsageError(f"{provider} needs {how}", ctx)
    for name, spec in specs.items():  # asked for only once the command line itself is complete
        if spec.required and spec.secret and not given.get(name):
            given[name] = click.prompt(f"{title_of(provider)} {name.replace('_', ' ')}", hide_input=True)
    secrets = {name: str(given[name]) for name, spec in specs.items() if spec.secret and given.get(name)}
    options = {
        name: str(given[name]) for name, spec in specs.items() if not spec.secret and given.get(name) is not None
    }
    return secrets, options
