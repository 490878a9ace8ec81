"""Plugin loading (entry points, blocking, per-instance plugins) and the typed facade.

:func:`get_plugins` returns a :class:`Plugins` facade: every registry resolved once
into plain dicts, so a request never calls a hook. The default set (no extra plugins,
nothing blocked) is built lazily on first use and shared.
"""

from __future__ import annotations

import functools
import importlib.metadata
import threading
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError, UnsupportedScheme
from .plugin import (
    AuthScheme,
    BodyCodec,
    Broker,
    ContentEncoding,
    MultiplexedBackend,
    PluginWarning,
    ProtocolBackend,
    Resolver,
    Transport,
    WebSocketBackend,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "Plugins",
    "get_plugins",
    "reset_default_plugins",
]

ENTRY_POINT_GROUP = "rttp"
_OWN_DISTRIBUTION = "trio-rttp"


@dataclass(frozen=True)
class PluginInfo:
    """One loaded plugin: its name, what kind of source it came from, and where."""

    name: str
    kind: str  # "builtin", "entry point" or "instance"
    source: str  # "trio-rttp 0.1.0: rttp_builtin.transports.tcp"


@dataclass(frozen=True)
class _Entry:
    obj: Any
    plugin: str


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    eps = list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))

    def dist_name(ep: importlib.metadata.EntryPoint) -> str:
        return ep.dist.name if ep.dist is not None else ""

    own = [ep for ep in eps if dist_name(ep).lower() == _OWN_DISTRIBUTION]
    others = sorted(
        (ep for ep in eps if dist_name(ep).lower() != _OWN_DISTRIBUTION),
        key=lambda ep: (dist_name(ep).lower(), ep.name),
    )
    return own + others


def _plugin_name(plugin: object) -> str:
    name = getattr(plugin, "name", None)
    if isinstance(name, str) and name:
        return name
    if isinstance(plugin, ModuleType):
        return plugin.__name__
    return f"{type(plugin).__name__}@{id(plugin):x}"


class Plugins:
    """The typed facade over one assembled plugin set.

    Lookups are dictionary gets; nothing here calls a hook after construction.
    """

    def __init__(self, pm: pluggy.PluginManager, infos: list[PluginInfo]) -> None:
        self.manager = pm
        self.infos = infos
        self.client_transports: dict[str, Transport] = {}
        self.bind_transports: dict[str, Transport] = {}
        self.encodings: dict[str, ContentEncoding] = {}
        self.body_codecs: dict[str, BodyCodec] = {}
        self.auth_schemes: dict[str, AuthScheme] = {}
        self.backends: dict[str, ProtocolBackend] = {}
        self.resolvers: dict[str, Resolver] = {}
        self.brokers: dict[str, Broker] = {}
        self.websocket_backends: dict[str, WebSocketBackend] = {}
        #: multiplexing protocol backends (HTTP/2), by name
        self.multiplexed_backends: dict[str, MultiplexedBackend] = {}
        self._owners: dict[tuple[str, str], str] = {}

        def keys_transport(t: Transport) -> list[tuple[str, str]]:
            return [("client scheme", s) for s in t.client_schemes] + [
                ("bind scheme", s) for s in t.bind_schemes
            ]

        self._collect("rttp_register_transports", Transport, keys_transport, self._store_transport)
        self._collect(
            "rttp_register_content_encodings",
            ContentEncoding,
            lambda e: [("content encoding", e.name.lower())],
            lambda key, e: self.encodings.__setitem__(key[1], e),
        )
        self._collect(
            "rttp_register_body_codecs",
            BodyCodec,
            lambda c: [("media type", m.lower()) for m in (c.media_type, *c.aliases)],
            lambda key, c: self.body_codecs.__setitem__(key[1], c),
        )
        self._collect(
            "rttp_register_auth_schemes",
            AuthScheme,
            lambda a: [("auth scheme", a.name.lower())],
            lambda key, a: self.auth_schemes.__setitem__(key[1], a),
        )
        self._collect(
            "rttp_register_protocol_backends",
            (ProtocolBackend, MultiplexedBackend),
            lambda b: [("protocol backend", b.name.lower())],
            self._store_backend,
        )
        self._collect(
            "rttp_register_brokers",
            Broker,
            lambda b: [("broker scheme", s.lower()) for s in b.schemes],
            lambda key, b: self.brokers.__setitem__(key[1], b),
        )
        self._collect(
            "rttp_register_resolvers",
            Resolver,
            lambda r: [("resolver", r.name.lower())],
            lambda key, r: self.resolvers.__setitem__(key[1], r),
        )
        self._collect(
            "rttp_register_websocket_backends",
            WebSocketBackend,
            lambda b: [("websocket backend", b.name.lower())],
            lambda key, b: self.websocket_backends.__setitem__(key[1], b),
        )
        self._auto_backend = max(self.backends.values(), key=lambda b: b.priority, default=None)
        self._auto_ws_backend = max(
            self.websocket_backends.values(), key=lambda b: b.priority, default=None
        )

    def _store_backend(self, key: tuple[str, str], backend: Any) -> None:
        if isinstance(backend, MultiplexedBackend):
            self.multiplexed_backends[key[1]] = backend
        else:
            self.backends[key[1]] = backend

    def _store_transport(self, key: tuple[str, str], transport: Transport) -> None:
        target = self.client_transports if key[0] == "client scheme" else self.bind_transports
        target[key[1]] = transport

    def _collect(
        self,
        hook_name: str,
        kind: Any,
        keys: Callable[[Any], Iterable[tuple[str, str]]],
        store: Callable[[tuple[str, str], Any], None],
    ) -> None:
        caller = getattr(self.manager.hook, hook_name)
        # get_hookimpls() is in registration order, so later registrations override.
        for impl in caller.get_hookimpls():
            owner = impl.plugin_name

            def register(obj: Any, owner: str = owner) -> None:
                if not isinstance(obj, kind):
                    raise PluginError(
                        f"plugin {owner!r} registered {obj!r} from {hook_name}, "
                        f"which is not a {_kind_name(kind)}"
                    )
                for key in keys(obj):
                    previous = self._owners.get(key)
                    meant = getattr(obj, "replaces_others", False)
                    if previous is not None and previous != owner and not meant:
                        warnings.warn(
                            f"plugin {owner!r} replaces plugin {previous!r} "
                            f"for {key[0]} {key[1]!r}",
                            PluginWarning,
                            stacklevel=2,
                        )
                    self._owners[key] = owner
                    store(key, obj)

            impl.function(register=register)

    # -- lookups --------------------------------------------------------------------------
    def transport_for_url(self, scheme: str) -> Transport:
        """The transport that opens client connections for ``scheme``."""
        try:
            return self.client_transports[scheme]
        except KeyError:
            known = ", ".join(sorted(self.client_transports)) or "none"
            if not scheme:
                raise UnsupportedScheme(
                    f"the URL has no scheme: give one, such as http:// (loaded: {known})"
                ) from None
            raise UnsupportedScheme(
                f"no transport plugin serves URL scheme {scheme!r} (loaded: {known})"
            ) from None

    def transport_for_bind(self, scheme: str) -> Transport:
        """The transport that listens on bind targets of ``scheme``."""
        try:
            return self.bind_transports[scheme]
        except KeyError:
            known = ", ".join(sorted(self.bind_transports)) or "none"
            raise UnsupportedScheme(
                f"no transport plugin listens on bind scheme {scheme!r} (loaded: {known})"
            ) from None

    def backend(self, name: str = "auto") -> ProtocolBackend:
        """The protocol backend called ``name``, or the highest-priority one for ``auto``."""
        found: ProtocolBackend = _pick(
            self.backends, self._auto_backend, name, "HTTP/1.1 protocol backend", "protocol backend"
        )
        return found

    def multiplexed_backend(self, alpn: str) -> MultiplexedBackend | None:
        """The highest-priority multiplexing backend that speaks ``alpn`` (``"h2"``),
        or None when no plugin does (h2 is not installed, say)."""
        found = [b for b in self.multiplexed_backends.values() if b.alpn == alpn]
        return max(found, key=lambda b: b.priority, default=None)

    def websocket_backend(self, name: str = "auto") -> WebSocketBackend:
        """The WebSocket backend called ``name``, or the highest-priority one for ``auto``."""
        found: WebSocketBackend = _pick(
            self.websocket_backends,
            self._auto_ws_backend,
            name,
            "WebSocket backend",
            "WebSocket backend",
        )
        return found

    @functools.cached_property
    def offered_encodings(self) -> list[str]:
        """The encodings offered by default, most preferred first: every loaded one
        that declares ``offer`` (:class:`~rttp.plugin.ContentEncoding`), by ``preference``
        (highest first), then name."""
        offered = [(e.preference, name) for name, e in self.encodings.items() if e.offer]
        return [name for _, name in sorted(offered, key=lambda item: (-item[0], item[1]))]

    def encoding(self, token: str) -> ContentEncoding | None:
        """The content encoding for a coding token, or None."""
        return self.encodings.get(token)

    def owner(self, kind: str, key: str) -> str | None:
        """Which plugin provides ``key`` (``owner("content encoding", "gzip")``)."""
        return self._owners.get((kind, key))


def _kind_name(kind: Any) -> str:
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return str(kind.__name__)


def _pick(table: dict[str, Any], auto: Any, name: str, kind: str, called: str) -> Any:
    """``table[name]``, or ``auto`` for ``"auto"``; PluginError naming what is loaded."""
    if name == "auto":
        if auto is None:
            raise PluginError(f"no {kind} plugin is loaded")
        return auto
    try:
        return table[name.lower()]
    except KeyError:
        known = ", ".join(sorted(table)) or "none"
        raise PluginError(f"no {called} called {name!r} (loaded: {known})") from None


def _assemble(extra: Sequence[object], disable: Iterable[str]) -> Plugins:
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    blocked = set(disable)
    for name in blocked:
        pm.set_blocked(name)
    infos: list[PluginInfo] = []
    for ep in _entry_points():
        if pm.is_blocked(ep.name) or pm.has_plugin(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            raise PluginError(f"cannot load plugin {ep.name!r} from {ep.value!r}: {exc}") from exc
        pm.register(plugin, name=ep.name)
        dist = ep.dist
        own = dist is not None and dist.name.lower() == _OWN_DISTRIBUTION
        where = f"{dist.name} {dist.version}: {ep.value}" if dist is not None else ep.value
        infos.append(PluginInfo(ep.name, "builtin" if own else "entry point", where))
    for plugin in extra:
        name = _plugin_name(plugin)
        if name in blocked:
            continue
        try:
            pm.register(plugin, name=name)
        except ValueError as exc:
            raise PluginError(f"cannot register plugin {name!r}: {exc}") from exc
        infos.append(PluginInfo(name, "instance", repr(plugin)))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"a plugin implements an unknown hook: {exc}") from exc
    return Plugins(pm, infos)


_default: Plugins | None = None
_default_lock = threading.Lock()


def get_plugins(plugins: Sequence[object] = (), disable: Iterable[str] = ()) -> Plugins:
    """The plugin set for an instance: the shared default, or one built for its options."""
    disable = tuple(disable)
    if plugins or disable:
        return _assemble(plugins, disable)
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = _assemble((), ())
    return _default


def reset_default_plugins() -> None:
    """Forget the shared default plugin set (it is rebuilt on next use)."""
    global _default
    _default = None
