"""Headers: an ordered, case-insensitive multi-dict over bytes with str access.

Besides the mapping interface it offers the Moonbridge views of a header field:
all values (:meth:`Headers.get_all`), the csv-joined string (:meth:`Headers.csv_string`),
the csv-split list (:meth:`Headers.csv_list`), per-token flags (:meth:`Headers.flags`)
and a single value (:meth:`Headers.value`, which gives :data:`MULTIPLE` when the field repeats).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Final, Union

__all__ = [
    "Headers",
    "HeadersLike",
    "MULTIPLE",
    "encode_header_text",
]

#: ``object.__new__`` as a global (Python 3.11 caches a global's lookup, not ``cls.__new__``)
_new = object.__new__


class _Multiple:
    """Marker for a header field that occurred more than once (see :meth:`Headers.value`)."""

    _instance: _Multiple | None = None

    def __new__(cls) -> _Multiple:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "rttp.MULTIPLE"


#: Returned by :meth:`Headers.value` when the field occurs more than once. It is falsy.
MULTIPLE: Final = _Multiple()

HeadersLike = Union[
    "Headers",
    Mapping[str, str],
    Mapping[bytes, bytes],
    Iterable[tuple[str, str]],
    Iterable[tuple[bytes, bytes]],
    None,
]


def encode_header_text(text: str | bytes) -> bytes:
    """Header text as bytes: ASCII/Latin-1 as is, anything else as UTF-8."""
    if isinstance(text, bytes):
        return text
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


#: lower-cased byte keys of the str names looked up so far (bounded)
_keys: dict[str, bytes] = {}


def _key(name: str | bytes) -> bytes:
    if type(name) is str:
        key = _keys.get(name)
        if key is None:
            key = name.encode("latin-1").lower()
            if len(_keys) < 1024:
                _keys[name] = key
        return key
    if isinstance(name, str):
        return name.encode("latin-1").lower()
    return name.lower()


class Headers(MutableMapping[str, str]):
    """Ordered, case-insensitive HTTP header multi-dict.

    ``headers["Accept"]`` gives all values of the field joined by ``", "``;
    ``headers.get_all("Set-Cookie")`` gives each value separately. Names keep the case
    they were given in; lookups ignore case. Values are stored as bytes and decoded
    as Latin-1 when read as ``str``.
    """

    __slots__ = ("_items",)

    def __init__(self, headers: HeadersLike = None) -> None:
        self._items: list[tuple[bytes, bytes]] = []
        if headers is None:
            return
        pairs: Iterable[tuple[str | bytes, str | bytes]]
        if type(headers) is list:  # the common case, without ABC checks
            pairs = headers
        elif isinstance(headers, Headers):
            self._items = list(headers._items)
            return
        else:
            pairs = headers.items() if isinstance(headers, Mapping) else headers
        self._items = [(encode_header_text(n), encode_header_text(v)) for n, v in pairs]

    @classmethod
    def from_raw(cls, items: list[tuple[bytes, bytes]]) -> Headers:
        """Wrap a list of ``(name, value)`` byte pairs without copying or checking it."""
        new = _new(cls)
        new._items = items
        return new

    # -- raw access -------------------------------------------------------------------
    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The ``(name, value)`` byte pairs in order, as sent or received."""
        return self._items

    def get_raw(self, name: str | bytes) -> list[bytes]:
        """All values of ``name`` as bytes."""
        key = _key(name)
        size = len(key)  # names of another length are not compared at all
        return [v for k, v in self._items if len(k) == size and k.lower() == key]

    # -- mapping interface --------------------------------------------------------------
    def __getitem__(self, name: str) -> str:
        values = self.get_raw(name)
        if not values:
            raise KeyError(name)
        if len(values) == 1:
            return values[0].decode("latin-1")
        return b", ".join(values).decode("latin-1")

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        """All values of ``name`` joined by ``", "``, or ``default`` (a fast path: no exception)."""
        key = _key(name)
        size = len(key)
        found: bytes | None = None
        for k, v in self._items:
            if len(k) == size and k.lower() == key:
                if found is not None:
                    return b", ".join(self.get_raw(key)).decode("latin-1")
                found = v
        return default if found is None else found.decode("latin-1")

    def __setitem__(self, name: str, value: str) -> None:
        key = _key(name)
        raw_value = encode_header_text(value)
        for index, (k, _) in enumerate(self._items):
            if k.lower() == key:
                self._items[index] = (k, raw_value)
                self._items[index + 1 :] = [
                    item for item in self._items[index + 1 :] if item[0].lower() != key
                ]
                return
        self._items.append((encode_header_text(name), raw_value))

    def __delitem__(self, name: str) -> None:
        key = _key(name)
        kept = [item for item in self._items if item[0].lower() != key]
        if len(kept) == len(self._items):
            raise KeyError(name)
        self._items = kept

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, (str, bytes)):
            return False
        key = _key(name)
        return any(k.lower() == key for k, _ in self._items)

    def __iter__(self) -> Iterator[str]:
        seen: set[bytes] = set()
        for k, _ in self._items:
            low = k.lower()
            if low not in seen:
                seen.add(low)
                yield low.decode("latin-1")

    def __len__(self) -> int:
        return len({k.lower() for k, _ in self._items})

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            mine = sorted((k.lower(), v) for k, v in self._items)
            theirs = sorted((k.lower(), v) for k, v in other._items)
            return mine == theirs
        if isinstance(other, Mapping):
            return self == Headers(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self.multi_items()!r})"

    def add(self, name: str | bytes, value: str | bytes) -> None:
        """Append a field without touching existing ones of the same name."""
        self._items.append((encode_header_text(name), encode_header_text(value)))

    def setdefault_raw(self, name: bytes, value: bytes) -> None:
        """Append ``name: value`` unless the field is already present."""
        if name.lower() not in {k.lower() for k, _ in self._items}:
            self._items.append((name, value))

    def multi_items(self) -> list[tuple[str, str]]:
        """Every ``(name, value)`` pair as str, repeats included, in order."""
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self._items]

    def copy(self) -> Headers:
        """A shallow copy."""
        return Headers(self)

    # -- the Moonbridge views -------------------------------------------------------------
    def get_all(self, name: str) -> list[str]:
        """One entry per occurrence of the field (Moonbridge ``request.headers``)."""
        return [v.decode("latin-1") for v in self.get_raw(name)]

    def csv_string(self, name: str) -> str | None:
        """All occurrences merged into one comma-separated string, or None if absent."""
        return self.get(name)

    def csv_list(self, name: str) -> list[str]:
        """Every comma-separated element of every occurrence, stripped, empties dropped."""
        out: list[str] = []
        for value in self.get_raw(name):
            for part in value.split(b","):
                part = part.strip(b" \t")
                if part:
                    out.append(part.decode("latin-1"))
        return out

    def flags(self, name: str) -> frozenset[str]:
        """The lower-cased comma-separated tokens of the field (``"close" in h.flags("connection")``)."""
        return frozenset(token.lower() for token in self.csv_list(name))

    def value(self, name: str) -> str | _Multiple | None:
        """The field's single value; None if absent; :data:`MULTIPLE` if it repeats."""
        values = self.get_raw(name)
        if not values:
            return None
        if len(values) > 1:
            return MULTIPLE
        return values[0].decode("latin-1")
