"""Sphinx configuration for trio-rttp (built with warnings as errors: ``nox -s docs``)."""

project = "trio-rttp"
author = "trio-rttp developers"
release = "0.1.0"
# no intersphinx: the docs build offline (CI machines reach only package registries)
extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
nitpicky = False
html_theme = "alabaster"
exclude_patterns = ["_build"]
