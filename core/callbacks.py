"""Button callback data: one declared class per kind of button, packed small, read strictly, versioned.

Telegram gives a button at most 64 bytes, and a client can send anything back. So a button carries its kind's prefix,
the kind's version and a few small values (ids, flags), and every id is looked up again within the tenant before
anything is done with it. A kind is a frozen dataclass declared anywhere (the shop's own in ``core.buttons``, a
provider's in its folder) with a unique prefix; declaring it is registering it::

    @dataclass(frozen=True)
    class AddToCart(CallbackData, prefix="add"):
        product_id: int

    AddToCart(product_id=7).pack()  # "add.1:7"

Packing checks what a client could not: a value out of its range, a separator inside a text, more than 64 bytes all
raise. Reading (:func:`read`) never raises: data of a known kind at its version is the button; a known kind at another
version, or in the form used before typed buttons (``add:7``, version 0, with as many values as the kind has), is
:class:`Expired` (a button from before an upgrade: answered with the current state, never misread); anything else is
None (refused, changing nothing).

:class:`Routes` binds each kind to one handler by declaration, with the answer its expired buttons get.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields
from typing import Annotated, Any, ClassVar, Generic, TypeVar, get_args, get_origin, get_type_hints

MAX_BYTES = 64  # Telegram's limit for callback_data
SEPARATOR = ":"
_PREFIX = re.compile(r"^[a-z]{1,12}$")
_DATA = re.compile(r"^([a-z]{1,12})(?:\.(\d{1,3}))?((?::[^:]*)*)$")
_BEFORE_TYPED = re.compile(r"^[a-z]{1,8}(?::-?\d{1,12})*$")  # the only shape buttons had before versions (0)
_INT = re.compile(r"^-?\d{1,20}$")


@dataclass(frozen=True)
class Range:
    """The values an int field takes (both ends included). Ids by default: 0 to the largest BIGINT."""

    lowest: int
    highest: int


@dataclass(frozen=True)
class MaxBytes:
    """A text field's longest value, in UTF-8 bytes (a text field must declare one)."""

    limit: int


ID = Range(0, 2**63 - 1)
SIGNED = Range(-(2**63), 2**63 - 1)


class CallbackError(ValueError):
    """A button that cannot be packed: a value out of range, a separator inside a text, or too long for Telegram."""


@dataclass(frozen=True)
class _Field:
    name: str
    kind: type
    range: Range = ID
    max_bytes: int = 0

    def encode(self, owner: str, value: object) -> str:
        if self.kind is bool:
            if not isinstance(value, bool):
                raise CallbackError(f"{owner}.{self.name} must be a bool, not {value!r}")
            return "1" if value else "0"
        if self.kind is int:
            if not isinstance(value, int) or isinstance(value, bool):
                raise CallbackError(f"{owner}.{self.name} must be an int, not {value!r}")
            if not self.range.lowest <= value <= self.range.highest:
                raise CallbackError(f"{owner}.{self.name}={value} is outside {self.range}")
            return str(value)
        if not isinstance(value, str):
            raise CallbackError(f"{owner}.{self.name} must be a str, not {value!r}")
        if SEPARATOR in value:
            raise CallbackError(f"{owner}.{self.name} holds the separator {SEPARATOR!r}: {value!r}")
        if len(value.encode()) > self.max_bytes:
            raise CallbackError(f"{owner}.{self.name} is longer than {self.max_bytes} bytes: {value!r}")
        return value

    def decode(self, raw: str) -> object:
        """The value, or ValueError for anything :meth:`encode` would not have written."""
        if self.kind is bool:
            if raw not in ("0", "1"):
                raise ValueError(raw)
            return raw == "1"
        if self.kind is int:
            if not _INT.match(raw) or str(int(raw)) != raw or not self.range.lowest <= int(raw) <= self.range.highest:
                raise ValueError(raw)
            return int(raw)
        if len(raw.encode()) > self.max_bytes:
            raise ValueError(raw)
        return raw

    def widest(self) -> object:
        """The value that packs longest: for the test that every kind fits in 64 bytes."""
        if self.kind is bool:
            return True
        if self.kind is int:
            return max((self.range.lowest, self.range.highest), key=lambda value: len(str(value)))
        return "x" * self.max_bytes


def _field(owner: type, name: str, hint: Any) -> _Field:
    marks: tuple[Any, ...] = ()
    if get_origin(hint) is Annotated:
        hint, *extra = get_args(hint)
        marks = tuple(extra)
    if hint not in (int, bool, str):
        raise TypeError(f"{owner.__name__}.{name}: a button field is an int, a bool or a str, not {hint!r}")
    spec = _Field(name, hint)
    for mark in marks:
        if isinstance(mark, Range) and hint is int:
            spec = _Field(name, int, range=mark)
        elif isinstance(mark, MaxBytes) and hint is str:
            spec = _Field(name, str, max_bytes=mark.limit)
    if hint is str and spec.max_bytes <= 0:
        raise TypeError(f"{owner.__name__}.{name}: a text field declares its MaxBytes")
    return spec


_KINDS: dict[str, type[CallbackData]] = {}


class CallbackData:
    """The base of every button kind. Subclass it as a frozen dataclass with ``prefix=`` (unique, lowercase letters)
    and, when the meaning of its fields changes, a higher ``version=`` (buttons already sent then expire).

    ``answers``: "yes" or "no" when a customer's typed yes or no presses this button (``flows.choices``);
    ``signpost``: the button only leads somewhere (the shop, the cart), so a message with only these asks nothing."""

    prefix: ClassVar[str]
    version: ClassVar[int]
    answers: ClassVar[str | None] = None
    signpost: ClassVar[bool] = False
    _fields: ClassVar[tuple[_Field, ...] | None]

    def __init_subclass__(cls, *, prefix: str, version: int = 1, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not _PREFIX.match(prefix):
            raise TypeError(f"{cls.__name__}: a prefix is 1 to 12 lowercase letters, not {prefix!r}")
        if not 1 <= version <= 999:
            raise TypeError(f"{cls.__name__}: a version is 1 to 999 (0 is the form before typed buttons)")
        taken = _KINDS.get(prefix)
        if taken is not None:
            raise TypeError(f"{cls.__name__}: prefix {prefix!r} is taken by {taken.__module__}.{taken.__qualname__}")
        cls.prefix, cls.version, cls._fields = prefix, version, None
        _KINDS[prefix] = cls

    @classmethod
    def specs(cls) -> tuple[_Field, ...]:
        if cls._fields is None:  # read once the dataclass decorator has run
            hints = get_type_hints(cls, include_extras=True)
            cls._fields = tuple(_field(cls, f.name, hints[f.name]) for f in fields(cls))  # type: ignore[arg-type]
        return cls._fields

    def pack(self) -> str:
        """The callback data: ``prefix.version:value:value``. Raises :class:`CallbackError` rather than send a
        button that would be misread or refused by Telegram."""
        kind = type(self)
        head = f"{kind.prefix}.{kind.version}"
        data = SEPARATOR.join([head, *(s.encode(kind.__name__, getattr(self, s.name)) for s in kind.specs())])
        if len(data.encode()) > MAX_BYTES:
            raise CallbackError(f"{kind.__name__} packs to {len(data.encode())} bytes, over {MAX_BYTES}: {data!r}")
        return data

    @classmethod
    def widest(cls) -> CallbackData:
        """This kind with every field at its longest value."""
        return cls(**{s.name: s.widest() for s in cls.specs()})

    @classmethod
    def _unpack(cls, raw: tuple[str, ...]) -> CallbackData | None:
        specs = cls.specs()
        if len(raw) != len(specs):
            return None
        try:
            return cls(**{s.name: s.decode(value) for s, value in zip(specs, raw, strict=True)})
        except ValueError:
            return None


@dataclass(frozen=True)
class Expired:
    """A button of a known kind made before an upgrade: its values are not trusted to mean what they did."""

    kind: type[CallbackData]
    version: int
    raw: tuple[str, ...]

    def first_id(self) -> int | None:
        """The first value when it reads as an id (old buttons led with the order, proof or product they were
        about): only ever to show the current state of what it names, looked up again within the tenant."""
        value = self.raw[0] if self.raw else ""
        return int(value) if value.isdecimal() and len(value) <= 19 else None


def kinds() -> dict[str, type[CallbackData]]:
    """Every declared kind by prefix (those of modules imported so far)."""
    return dict(_KINDS)


def read(data: str | None) -> CallbackData | Expired | None:
    """The button ``data`` is, :class:`Expired` for one of ours from before an upgrade, or None for anything else."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    match = _DATA.match(data)
    if match is None:
        return None
    prefix, version, rest = match.groups()
    kind = _KINDS.get(prefix)
    if kind is None:
        return None
    raw = tuple(rest.split(SEPARATOR)[1:]) if rest else ()
    if version is None:  # buttons before versions carried the values of their kind's version 1
        return Expired(kind, 0, raw) if _BEFORE_TYPED.match(data) and len(raw) == len(kind.specs()) else None
    if int(version) != kind.version:
        return Expired(kind, int(version), raw)
    return kind._unpack(raw)


Ctx = TypeVar("Ctx")
R = TypeVar("R")
K = TypeVar("K", bound=CallbackData)
ExpiredAnswer = Callable[[Ctx, Expired], Awaitable[R]]
# A kind's handler and what answers its buttons from before an upgrade.
Binding = tuple[Callable[[Ctx, Any], Awaitable[R]], ExpiredAnswer[Ctx, R]]


class Routes(Generic[Ctx, R]):
    """Which handler answers each kind, declared beside the handler::

        @routes.on(AddToCart, expired=show_cart)
        async def add(ctx, button: AddToCart) -> Reply: ...

    A kind has one handler in a set of routes (binding it twice raises); ``expired`` answers its buttons from before
    an upgrade. :meth:`dispatch` refuses data of kinds bound elsewhere, unknown or malformed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._bound: dict[type[CallbackData], Binding[Ctx, R]] = {}
        self._sources: list[Callable[[], Mapping[type[CallbackData], Binding[Ctx, R]]]] = []

    def on(
        self, kind: type[K], *, expired: ExpiredAnswer[Ctx, R]
    ) -> Callable[[Callable[[Ctx, K], Awaitable[R]]], Callable[[Ctx, K], Awaitable[R]]]:
        def bind(handler: Callable[[Ctx, K], Awaitable[R]]) -> Callable[[Ctx, K], Awaitable[R]]:
            if kind in self._bound:
                raise TypeError(f"{kind.__name__} has a handler in the {self.name} routes already")
            kind.specs()  # a kind whose fields cannot be packed fails here, at import, not at the first press
            self._bound[kind] = (handler, expired)
            return handler

        return bind

    def also(self, source: Callable[[], Mapping[type[CallbackData], Binding[Ctx, R]]]) -> None:
        """Bindings read from ``source`` each time they are asked for, not once at import (the payment providers'
        own buttons, from a registry that may grow after import); a kind bound here as well is answered here."""
        self._sources.append(source)

    def _binding(self, kind: type[CallbackData]) -> Binding[Ctx, R] | None:
        bound = self._bound.get(kind)
        for source in self._sources if bound is None else ():
            bound = source().get(kind)
            if bound is not None:
                break
        return bound

    def kinds(self) -> frozenset[type[CallbackData]]:
        found = set(self._bound)
        for source in self._sources:
            found.update(source())
        return frozenset(found)

    def takes(self, data: str | None) -> bool:
        """Whether ``data`` is (or was, before an upgrade) a button of these routes."""
        found = read(data)
        if found is None:
            return False
        return self._binding(found.kind if isinstance(found, Expired) else type(found)) is not None

    async def dispatch(self, ctx: Ctx, data: str | None, refuse: Callable[[Ctx], R]) -> R:
        found = read(data)
        if isinstance(found, Expired):
            bound = self._binding(found.kind)
            return await bound[1](ctx, found) if bound else refuse(ctx)
        bound = self._binding(type(found)) if found is not None else None
        return await bound[0](ctx, found) if bound else refuse(ctx)
