"""Sphinx configuration for trio-rttp (built with warnings as errors: ``nox -s docs``)."""

project = "trio-rttp"
author = "trio-rttp developers"
release = "0.1.0"
# no intersphinx: the docs build offline (CI machines reach only package registries)
extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
nitpicky = True
# no intersphinx (the docs build offline): references into the standard library and trio
# cannot resolve, so they are not checked; every reference into rttp is
nitpick_ignore_regex = [
    (r"py:.*", r"(collections\.abc|typing|ssl|socket|trio|http\.cookiejar|enum|re|os)(\..*)?"),
    (r"py:.*", r"(AsyncIterator|Awaitable|Callable|Iterator|Mapping|Sequence|Any|IO|TextIO)"),
    (r"py:.*", r"(wsproto|h11|httptools|jwt|pluggy)(\..*)?|WSConnection|Connection"),
    # the type aliases, described in the reference's "Type aliases" section
    (
        r"py:class",
        r"HeadersLike|QueryLike|TimeoutsLike|AuthLike|Body|FormValue|Progress|Handler|Content",
    ),
    (r"py:class", r"PasswordCheck|PasswordLookup|TokenCheck"),
    # the engine's and the faces' own helper types, which users never build
    (
        r"py:class",
        r"(rttp\.[\w.]*\.)?(ServerSettings|ServerExchange|ASGIApp|WSGIApp|StaticFiles|Middleware|CallNext|CoarseClock|ConnectionPool|SigningKey|HTTPResult|TokenHandle|Sentinel|RawHeaders|Broadcaster)",
    ),
    # type variables and private helpers that signatures mention
    (r"py:class", r"(rttp\.[\w.]*\.)?(_\w+|T|HandlerT)"),
]

import rttp  # noqa: E402

for _name in rttp.__all__:  # the public names show as rttp.X, not their private modules
    getattr(rttp, _name)
html_theme = "alabaster"
exclude_patterns = ["_build"]


def _named_defaults(app, what, name, obj, options, signature, return_annotation):
    """Show ServerConfig's loopback default by its name: Sphinx's signature parser
    mistakes the ``'::1'`` in its value for markup."""
    if signature:
        signature = signature.replace("('127.0.0.1', '::1')", "LOOPBACK_PROXIES")
    return signature, return_annotation


def setup(app):
    """The ``rttp-cli`` directive: the command's help, generated from its parser; and
    ServerConfig's loopback default shown by name."""
    app.connect("autodoc-process-signature", _named_defaults)
    import argparse
    import os

    from docutils import nodes
    from docutils.parsers.rst import Directive

    class RttpCli(Directive):
        """Every command's ``--help`` as a section, so the page cannot drift."""

        def run(self):
            os.environ["COLUMNS"] = "92"
            from rttp._cli import parser

            top = parser()
            out = [nodes.literal_block(text=top.format_help())]
            commands = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
            for name, sub in commands.choices.items():
                section = nodes.section(ids=[f"rttp-{name}"])
                section += nodes.title(text=f"rttp {name}")
                section += nodes.literal_block(text=sub.format_help())
                out.append(section)
            return out

    app.add_directive("rttp-cli", RttpCli)
    return {"parallel_read_safe": True}
