"""Seeded mutations of valid inputs: what broken captures, images and scripts' output look like.

Every mutation takes a :class:`random.Random` so a (parser, seed, case) triple
always gives the same bytes. Text mutations (bit flips, truncation, random
bytes, extreme numbers, control characters, long lines, repeated and dropped
lines) and binary ones (the same plus integers written over aligned words).
"""

from __future__ import annotations

import os
import random
import re
import struct

__all__ = ["mutate_argument", "mutate_binary", "mutate_text"]

EXTREME_NUMBERS = (
    "0", "-0", "-1", "1e309", "-1e309", "inf", "-inf", "nan", "NaN", "1e-320", "0x7fffffff", "2147483647",
    "2147483648", "4294967295", "4294967296", "9223372036854775807", "9223372036854775808",
    "18446744073709551616", "1" + "0" * 400, "1e16", "1e12", "100000", "0.0000001", "-9999999999", "1_000",
    "0b1", "+1", "١٢", "1e", "--1", "",
)  # fmt: skip
CONTROL = ("\0", "\r", "\r\n", "\x1b[2J", "\x1b]0;x\x07", "\x7f", "\x08", "\x0c", "\x0b", "\x85", "\u2028",
           "\ufeff", "\ud800", "\t", "\n\n\n", '"', "'", "[", "]", "=", ",", "<", ">", "&", "#")  # fmt: skip
EXTREME_WORDS = (0, 1, 2, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 32, (1 << 63) - 1,
                 1 << 63, (1 << 64) - 1, 0x1000, 0x100000)  # fmt: skip
LONG_LINE = 200_000
"""Characters in a long line: beyond any real line of these formats, cheap to parse."""
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _span(rng: random.Random, size: int, longest: int = 64) -> tuple[int, int]:
    start = rng.randrange(size + 1)
    return start, min(size, start + rng.randint(1, longest))


def _bit_flips(data: bytearray, rng: random.Random) -> None:
    for _ in range(rng.randint(1, 8)):
        if data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)


def _truncate(data: bytearray, rng: random.Random) -> None:
    del data[rng.randrange(len(data) + 1) :]


def _random_bytes(data: bytearray, rng: random.Random) -> None:
    start, end = _span(rng, len(data))
    data[start:end] = rng.randbytes(rng.randint(0, 64))


def _extreme_number(data: bytearray, rng: random.Random) -> None:
    found = list(_NUMBER.finditer(data))
    if not found:
        return _random_bytes(data, rng)
    for m in rng.sample(found, min(len(found), rng.randint(1, 3))):
        start, end = m.span()
        data[start:end] = rng.choice(EXTREME_NUMBERS).encode("utf-8", "surrogatepass")
        break  # spans of the others moved; one per pass keeps offsets right
    return None


def _control(data: bytearray, rng: random.Random) -> None:
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(data) + 1)
        data[at:at] = rng.choice(CONTROL).encode("utf-8", "surrogatepass")


def _long_line(data: bytearray, rng: random.Random) -> None:
    at = rng.randrange(len(data) + 1)
    unit = rng.choice([b"9", b"a", b",", b" ", b"\xc3\xa9", b"<a>", b"x=1,"])
    data[at:at] = unit * (LONG_LINE // len(unit))


def _lines(data: bytearray, rng: random.Random) -> None:
    lines = bytes(data).split(b"\n")
    i = rng.randrange(len(lines))
    choice = rng.randrange(3)
    if choice == 0:
        lines[i:i] = [lines[i]] * rng.choice([2, 10, 1000])
    elif choice == 1:
        del lines[i]
    else:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    data[:] = b"\n".join(lines)


def _line_ends(data: bytearray, rng: random.Random) -> None:
    data[:] = bytes(data).replace(b"\n", rng.choice([b"\r", b"\r\n", b"\n\r", b""]))


TEXT_MUTATIONS = (_bit_flips, _truncate, _random_bytes, _extreme_number, _extreme_number, _control,
                  _long_line, _lines, _lines, _line_ends)  # fmt: skip


def mutate_text(data: bytes, rng: random.Random) -> bytes:
    """One to three text mutations of *data*."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        rng.choice(TEXT_MUTATIONS)(out, rng)
    return bytes(out)


def _extreme_word(data: bytearray, rng: random.Random) -> None:
    if len(data) < 8:
        return _random_bytes(data, rng)
    size = rng.choice([2, 4, 8])
    at = rng.randrange(0, len(data) - size + 1, size)
    data[at : at + size] = (rng.choice(EXTREME_WORDS) % (1 << (8 * size))).to_bytes(size, "little")
    return None


BINARY_MUTATIONS = (_bit_flips, _bit_flips, _random_bytes, _extreme_word, _extreme_word, _extreme_word)


def mutate_binary(data: bytes, rng: random.Random, truncate: bool = True) -> bytes:
    """One to four binary mutations of *data* (truncation only when *truncate*)."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choices = (*BINARY_MUTATIONS, _truncate) if truncate else BINARY_MUTATIONS
        rng.choice(choices)(out, rng)
    return bytes(out)


def mutate_argument(value: str, rng: random.Random) -> str:
    """A command-line value mutated as text; no NUL (argv cannot carry one) and at most 100 kB.

    Bytes that are not UTF-8 arrive as Python sees them from a real argv (surrogateescape).
    """
    raw = mutate_text(value.encode(), rng).replace(b"\0", b"")[:100_000]
    return os.fsdecode(raw)


def word(value: int) -> bytes:
    return struct.pack("<I", value & 0xFFFFFFFF)
