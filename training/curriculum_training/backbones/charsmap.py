"""SentencePiece `precompiled_charsmap` builder: a normalisation table -> the bytes Hugging Face's
`Precompiled` normaliser reads.

Layout (what sentencepiece writes and `tokenizers` parses):

    u32 little-endian  trie_bytes
    trie_bytes / 4     u32 units of a darts-clone double-array trie, keyed by the UTF-8 bytes of
                       the input sequence; a key's value is a byte offset into the blob below
    blob               the replacement strings, UTF-8, each terminated by NUL

Double-array units (darts-clone encoding): bits 0-7 label, bit 8 "has a leaf child", bit 9 "offset
is stored shifted by 8", bits 10-30 offset, bit 31 set only on value (leaf) units. Lookup starts at
unit 0; for each input byte c: pos ^= offset(unit); pos ^= c; the unit there must carry label c.
A node's children therefore live at `base ^ label` with `base = pos ^ offset`; its leaf (the value)
lives at `base` itself. Each base is given to one node only, so a matching label proves the parent.

Only what the reader needs is built here (no darts-clone block bookkeeping); every base's 256-unit
block is kept inside the array so a lookup can never index past its end.
"""
from __future__ import annotations

import struct
from collections import deque
from typing import Dict, Iterable, List, Optional, Tuple

_LEAF_BIT = 1 << 8
_VALUE_BIT = 1 << 31


def _encode_offset(offset: int) -> int:
    if offset < 1 << 21:
        return offset << 10
    if offset >= 1 << 29 or offset & 0xFF:
        raise ValueError(f"double-array offset {offset} cannot be encoded")
    return (offset << 2) | (1 << 9)


def _decode_offset(unit: int) -> int:
    return (unit >> 10) << ((unit & (1 << 9)) >> 6)


class _Node:
    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.children: Dict[int, "_Node"] = {}
        self.value: Optional[int] = None


def build_double_array(keys: Iterable[Tuple[bytes, int]]) -> List[int]:
    """Units of a double-array trie mapping each non-empty byte key to a value in [0, 2^31)."""
    root = _Node()
    for key, value in keys:
        if not key or 0 in key:
            raise ValueError(f"charsmap key {key!r}: keys must be non-empty and free of NUL bytes")
        if not 0 <= value < _VALUE_BIT:
            raise ValueError(f"charsmap value {value} out of range")
        node = root
        for byte in key:
            node = node.children.setdefault(byte, _Node())
        node.value = value

    units: List[int] = [0] * 256
    used = bytearray(256)  # 1 where a unit is taken
    # free_after[i]: a hint towards the first free unit >= i (path-halving "next free" pointers), so
    # the base search hops over taken units instead of testing them one by one.
    free_after: List[int] = list(range(256))
    taken_bases = set()

    def ensure(size: int) -> None:
        if size > len(units):
            grow = (size - len(units) + 255) // 256 * 256
            start = len(units)
            units.extend([0] * grow)
            used.extend(bytes(grow))
            free_after.extend(range(start, start + grow))

    def take(i: int) -> None:
        used[i] = 1
        free_after[i] = i + 1
        ensure(i + 2)

    def first_free(i: int) -> int:
        ensure(i + 1)
        while used[i]:
            nxt = free_after[i]
            ensure(nxt + 1)
            free_after[i] = free_after[nxt]
            i = nxt
        return i

    take(0)  # the root
    queue = deque([(root, 0)])
    while queue:
        node, pos = queue.popleft()
        labels = sorted(node.children)
        slots = labels + ([0] if node.value is not None else [])
        candidate = first_free(1)
        while True:  # the smallest base whose slots are all free
            base = candidate ^ slots[0]
            if base and base not in taken_bases:
                ensure((base | 0xFF) + 1)
                if all(not used[base ^ s] for s in slots):
                    break
            candidate = first_free(candidate + 1)
        taken_bases.add(base)
        units[pos] = (units[pos] & 0xFF) | _encode_offset(pos ^ base) | (_LEAF_BIT if node.value is not None else 0)
        if node.value is not None:
            units[base] = node.value | _VALUE_BIT
            take(base)
        for label in labels:
            units[base ^ label] = label
            take(base ^ label)
            queue.append((node.children[label], base ^ label))
    return units


def build_precompiled_charsmap(mapping: Dict[str, str]) -> bytes:
    """`mapping`: input sequence -> replacement ("" deletes). Returns precompiled_charsmap bytes."""
    blob = bytearray()
    offsets: Dict[str, int] = {}
    keys = []
    for source in sorted(mapping):
        target = mapping[source]
        if "\0" in target:
            raise ValueError(f"charsmap replacement for {source!r} contains NUL")
        if target not in offsets:
            offsets[target] = len(blob)
            blob += target.encode("utf-8") + b"\0"
        keys.append((source.encode("utf-8"), offsets[target]))
    units = build_double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def lookup(charsmap: bytes, key: bytes) -> Optional[str]:
    """Shortest-prefix lookup exactly as the `tokenizers` Precompiled reader does it (for tests)."""
    (trie_bytes,) = struct.unpack_from("<I", charsmap, 0)
    units = struct.unpack_from(f"<{trie_bytes // 4}I", charsmap, 4)
    blob = charsmap[4 + trie_bytes:]
    pos = _decode_offset(units[0])
    for byte in key:
        pos ^= byte
        unit = units[pos]
        if unit & (_VALUE_BIT | 0xFF) != byte:
            return None
        pos ^= _decode_offset(unit)
        if unit & _LEAF_BIT:
            start = units[pos] & (_VALUE_BIT - 1)
            return blob[start:blob.index(0, start)].decode("utf-8")
    return None
