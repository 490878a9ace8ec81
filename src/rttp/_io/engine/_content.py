"""A message body from what a user hands the engine: bytes, str, chunks or a file."""

from __future__ import annotations

import inspect
import os
import stat as stat_module
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any, Union, cast

__all__ = ["Content", "body_from_content"]

#: bytes or str (sent whole), an async or sync iterable of chunks, or a file opened in
#: binary mode (sync, or async such as ``trio.open_file``'s)
Content = Union[bytes, bytearray, memoryview, str, AsyncIterable[bytes], Iterable[bytes], Any, None]

_FILE_CHUNK = 65536


def body_from_content(
    content: Content, content_size: int | None = None
) -> tuple[bytes | AsyncIterable[bytes] | None, int | None]:
    """``(body, size)``: bytes with their length, or a stream with its size if known.

    A regular file's size is what is left of it from its position; ``content_size``
    declares the size of any stream (and must match what it yields).
    """
    if content is None:
        return None, 0 if content_size is None else content_size
    if isinstance(content, str):
        content = content.encode("utf-8")
    if isinstance(content, (bytes, bytearray, memoryview)):
        data = bytes(content)
        if content_size is not None and content_size != len(data):
            raise ValueError(
                f"content_size={content_size} does not match the {len(data)} bytes of content"
            )
        return data, len(data)
    read = getattr(content, "read", None)
    if read is not None:
        return _read_file(content, read), content_size if content_size is not None else _size_of(
            content
        )
    if isinstance(content, AsyncIterable):
        return content, content_size
    if isinstance(content, Iterable):
        return _from_sync(cast("Iterable[bytes]", content)), content_size
    raise TypeError(
        f"content must be bytes, str, an iterable of bytes or a file, got {type(content).__name__}"
    )


def _size_of(file: Any) -> int | None:
    try:
        stat = os.fstat(file.fileno())
        position = file.tell()
    except (AttributeError, OSError, ValueError):
        return None
    if not stat_module.S_ISREG(stat.st_mode):
        return None
    size: int = max(stat.st_size - int(position), 0)
    return size


async def _read_file(file: Any, read: Any) -> AsyncIterator[bytes]:
    while True:
        chunk = read(_FILE_CHUNK)
        if inspect.isawaitable(chunk):
            chunk = await chunk
        if not chunk:
            return
        yield bytes(chunk)


async def _from_sync(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield bytes(chunk)
