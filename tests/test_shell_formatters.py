"""esxcli's formatters as invariants: any records round-trip through csv, keyvalue and xml alike.

Hypothesis draws records of any shape the formatters accept (display names with spaces, strings
with commas, quotes, spaces and non-ASCII letters, integers, booleans); the standard library's
csv and xml parsers, and a split on the first '=', must read back the same values.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from vmksim.shell.formatters import ESXCLI_XMLNS, FieldType, FormatParams, Struct, Value, render

NAMES = st.lists(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8),
    min_size=1,
    max_size=5,
    unique_by=str.lower,
).map(lambda words: [w if i % 2 else w.capitalize() + " Id" for i, w in enumerate(words)])
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=20)


def _value(kind: FieldType) -> st.SearchStrategy[Value]:
    if kind is FieldType.INTEGER:
        return st.integers(-(2**40), 2**40)
    if kind is FieldType.BOOLEAN:
        return st.booleans()
    return TEXT


@st.composite
def records(draw: st.DrawFn) -> list[Struct]:
    names = draw(NAMES)
    kinds = [draw(st.sampled_from(list(FieldType))) for _ in names]
    count = draw(st.integers(1, 4))
    return [
        Struct("Thing", tuple((n, k, draw(_value(k))) for n, k in zip(names, kinds, strict=True)))
        for _ in range(count)
    ]


def _text(v: Value) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


@given(records())
def test_csv_keyvalue_xml_read_back_the_same_values(rows: list[Struct]) -> None:
    params = FormatParams()
    expected = [{n.replace(" ", ""): _text(v) for n, _, v in r.fields} for r in rows]

    table = list(csv.reader(io.StringIO(render(rows, "csv", params), newline="")))
    head = table[0]
    assert head[-1] == "" and head[:-1] == sorted(head[:-1])
    assert [dict(zip(head[:-1], r[:-1], strict=True)) for r in table[1:]] == expected

    kv = [line.partition("=") for line in render(rows, "keyvalue", params).split("\n")[:-1]]
    width = len(rows[0].fields)
    got = [{k.split(".")[1]: v for k, _, v in kv[i : i + width]} for i in range(0, len(kv), width)]
    assert got == expected

    root = ET.fromstring(render(rows, "xml", params))
    ns = {"e": ESXCLI_XMLNS}
    structs = root.findall("e:root/e:list/e:structure", ns)
    assert [{f.get("name"): f[0].text or "" for f in s.findall("e:field", ns)} for s in structs] == expected
