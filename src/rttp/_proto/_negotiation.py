"""``Accept`` negotiation (no I/O): which of the offered media types the client prefers."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["choose_media_type", "parse_accept"]


def parse_accept(value: str) -> list[tuple[str, str, float]]:
    """``"text/html;q=0.9, */*;q=0.1"`` → ``[("text", "html", 0.9), ("*", "*", 0.1)]``."""
    ranges: list[tuple[str, str, float]] = []
    for item in value.split(","):
        media, *params = item.split(";")
        media = media.strip().lower()
        if not media:
            continue
        major, _, minor = media.partition("/")
        q = 1.0
        for param in params:
            key, _, raw = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(raw.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((major, minor or "*", q))
    return ranges


def _quality(offer: str, ranges: list[tuple[str, str, float]]) -> float:
    major, _, minor = offer.lower().partition("/")
    best_specificity = -1
    quality = 0.0
    for r_major, r_minor, q in ranges:
        if r_major == major and r_minor == minor:
            specificity = 2
        elif r_major == major and r_minor == "*":
            specificity = 1
        elif r_major == "*" and r_minor == "*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_specificity, quality = specificity, q
    return quality


def choose_media_type(accept: str | None, offers: Sequence[str]) -> str | None:
    """The offer the client accepts most (ties: the first offered); None if none is acceptable."""
    if not offers:
        return None
    if not accept:
        return offers[0]
    ranges = parse_accept(accept)
    best: str | None = None
    best_q = 0.0
    for offer in offers:
        q = _quality(offer, ranges)
        if q > best_q:
            best, best_q = offer, q
    return best
