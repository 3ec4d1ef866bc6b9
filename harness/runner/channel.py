"""Length-prefixed messages between the harness, a fold's supervisor and the fold's bundle process.

Why not pickle (multiprocessing's default): unpickling runs code chosen by whoever wrote the bytes, and bytes
that come out of a fold were written by a submission. Everything that crosses from a fold towards a process
with more rights is a JSON header plus, for arrays, raw bytes described by (dtype, shape) from a short list of
plain numeric dtypes; readers validate both before use. Only the trusted direction (harness -> supervisor ->
fold) carries pickles, which the less privileged side unpickles.

Frame: 8 bytes (header length, payload length; big-endian uint32), the JSON header, the payload.
"""
from __future__ import annotations

import json
import os
import struct
from typing import Any, Mapping

import numpy as np

_PREFIX = struct.Struct("!II")
MAX_HEADER = 8 << 20            # a fold's result (ids, predictions, probabilities, records) fits easily
MAX_PAYLOAD = 2 << 30           # one cache entry (a long flow sequence) at most
DTYPES = frozenset({"|b1", "|u1", "|i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f2", "<f4", "<f8"})


class ProtocolError(Exception):
    """A message that does not follow the protocol (too large, not JSON, wrong types)."""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exactly(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 22))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def send(fd: int, header: Mapping[str, Any], payload: bytes = b"") -> None:
    head = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    _write_all(fd, _PREFIX.pack(len(head), len(payload)) + head + payload)


def recv(fd: int, max_header: int = MAX_HEADER, max_payload: int = MAX_PAYLOAD) -> tuple[dict, bytes]:
    """The next message; EOFError when the writer has gone, ProtocolError for anything malformed."""
    n_head, n_payload = _PREFIX.unpack(_read_exactly(fd, _PREFIX.size))
    if n_head > max_header or n_payload > max_payload:
        raise ProtocolError(f"message of {n_head} + {n_payload} bytes is over the limit")
    try:
        header = json.loads(_read_exactly(fd, n_head), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"message header is not JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("op"), str):
        raise ProtocolError("message header must be a JSON object with an 'op'")
    return header, _read_exactly(fd, n_payload)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def send_pickle(fd: int, op: str, obj: Any) -> None:
    """Trusted direction only (towards the less privileged process)."""
    import pickle

    send(fd, {"op": op}, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def recv_pickle(fd: int, op: str) -> Any:
    """Read a pickle sent by the more privileged side (the harness or the fold's supervisor)."""
    import pickle

    header, payload = recv(fd)
    if header["op"] != op:
        raise ProtocolError(f"expected {op!r}, got {header['op']!r}")
    return pickle.loads(payload)


def pack_arrays(arrays: Mapping[str, np.ndarray]) -> tuple[list[list], bytes]:
    """(description, bytes) of named numeric arrays, for a message."""
    spec, parts = [], []
    for name, a in arrays.items():
        a = np.ascontiguousarray(a)
        dtype = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        a = a.astype(dtype, copy=False)
        if a.dtype.str not in DTYPES:
            raise TypeError(f"array {name!r} has dtype {a.dtype}, which cannot be sent")
        spec.append([str(name), a.dtype.str, list(a.shape)])
        parts.append(a.tobytes())
    return spec, b"".join(parts)


def unpack_arrays(spec: Any, payload: bytes) -> dict[str, np.ndarray]:
    """Arrays described by `spec` over `payload`; every field is checked (names, dtypes, shapes, total size)."""
    if not isinstance(spec, list) or len(spec) > 256:
        raise ProtocolError("array description must be a list of at most 256 [name, dtype, shape]")
    out, offset = {}, 0
    for item in spec:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) and len(item[0]) <= 128
                and item[1] in DTYPES and isinstance(item[2], list) and len(item[2]) <= 8
                and all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 1 << 40 for d in item[2])):
            raise ProtocolError(f"bad array description {str(item)[:200]}")
        name, dtype, shape = item
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        size = count * np.dtype(dtype).itemsize
        if offset + size > len(payload):
            raise ProtocolError(f"array {name!r} runs past the end of the message")
        out[name] = np.frombuffer(payload, dtype=dtype, count=count, offset=offset).reshape(shape).copy()
        offset += size
    if offset != len(payload):
        raise ProtocolError("message carries bytes no array describes")
    return out
