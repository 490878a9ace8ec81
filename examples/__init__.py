"""Example applications served by the README's first command."""
