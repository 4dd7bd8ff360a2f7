"""Names read from files reach the terminal escaped, never as markup, and in linear time (issue 11 items 15, 18).

A name in a .vmx, a capture or a VMFS directory is data someone else wrote: an escape sequence in it
must not recolour or clear the terminal, a newline must not forge an extra line of `vmfs ls`, and
`[bold]` must not be read as rich markup.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text

from vmfs_synth import Synth
from vmksim.console import escape_controls, user_text

#: A name built to attack a terminal: clear screen, a colour, a bell, a forged line, a bidi override.
HOSTILE = "vm\x1b[2J\x1b[31mred\x07\nforged\u202etxt.exe[bold]b[/bold]"
RAW = ("\x1b", "\x07", "\u202e")


def _clean(text: str) -> bool:
    """No raw control character of HOSTILE survives, and no forged line starts with 'forged'."""
    return not any(c in text for c in RAW) and not any(
        line.startswith("forged") for line in text.splitlines()
    )


@pytest.mark.parametrize(
    "raw,shown",
    [
        ("a\nb", "a\\nb"),
        ("\x1b[31m", "\\e[31m"),
        ("\x00\x7f\x9b", "\\x00\\x7f\\x9b"),
        ("tab\there", "tab\\there"),
        ("\u202egnp.exe", "\\u202egnp.exe"),
        ("\u2028", "\\u2028"),
        ("Größe 日本 ok", "Größe 日本 ok"),  # printable Unicode is left alone
    ],
)
def test_escape_controls(raw: str, shown: str) -> None:
    assert escape_controls(raw) == shown


def test_user_text_is_neither_markup_nor_highlighted() -> None:
    console = Console(record=True, width=200, color_system="truecolor", force_terminal=True)
    console.print(user_text("[bold]x[/bold] 12.5 'quoted' http://a.b"))
    text = console.export_text(styles=True)
    # Not markup (the brackets stay) and not highlighted (no style at all, not even on the number).
    assert "[bold]x[/bold]" in text and "\x1b[" not in text
    styled = Console(record=True, width=200, force_terminal=True)
    styled.print(user_text("n", style="bold"))
    assert isinstance(user_text("x"), Text) and "\x1b[1m" in styled.export_text(styles=True)


def test_plan_prints_a_hostile_displayname_escaped(run_cli, tmp_path: Path) -> None:
    vmx = tmp_path / "evil.vmx"
    vmx.write_bytes(b'displayName = "' + HOSTILE.replace("\n", "").encode() + b'"\nnumvcpus = "2"\n')
    code, out, err = run_cli("plan", str(vmx))
    assert code == 0, err
    assert _clean(out) and "\\e[2J" in out and "[bold]b[/bold]" in out


def test_plan_with_a_huge_displayname_is_linear(run_cli, tmp_path: Path) -> None:
    """Rich's highlighter was quadratic: 2 s at 10k characters, > 120 s at 100k (issue 11 item 15)."""
    timings = []
    for n in (10_000, 100_000):
        vmx = tmp_path / f"long{n}.vmx"
        vmx.write_text(f'displayName = "{"a1." * (n // 3)}"\nnumvcpus = "2"\n')
        start = time.perf_counter()
        code, out, _ = run_cli("plan", str(vmx))
        timings.append(time.perf_counter() - start)
        assert code == 0 and "a1.a1." in out
    # 10x the length may cost ~10x (linear), never the ~100x of the quadratic highlighter.
    assert timings[1] < 30 * max(timings[0], 0.05), timings


def test_analyze_escapes_vm_names_from_a_capture(run_cli, tmp_path: Path) -> None:
    from vmksim.analyze.synth import VmScript, write_scripted_capture
    from vmksim.topology import resolve_host

    name = HOSTILE.replace("\n", "")  # a capture row cannot hold a newline; the rest can
    capture = tmp_path / "evil.csv"
    host = resolve_host("tiny-1x4")
    write_scripted_capture(capture, host, [VmScript(name, 1, run=20, ready=30)], samples=3)
    code, out, err = run_cli("analyze", str(capture))
    assert code == 0, err
    assert _clean(out) and "vm\\e[2J" in out and "[bold]b[/bold]" in out
    code, out, _ = run_cli("capture", "columns", str(capture))
    assert code == 0 and _clean(out) and "vm\\e[2J" in out


def test_vmfs_ls_and_tree_escape_names(run_cli, tmp_path: Path) -> None:
    synth = Synth()
    synth.add_file(HOSTILE.encode("utf-8")[:100].decode("utf-8", "ignore"), 5, 4305, resident=b"hello")
    image = synth.write(tmp_path / "evil.bin")
    for argv in (("ls", "-l"), ("ls",), ("tree",)):
        code, out, err = run_cli("vmfs", argv[0], str(image), *(["/"] if argv[0] == "ls" else []), *argv[1:])
        assert code == 0, err
        assert _clean(out) and "vm\\e[2J" in out and "\\nforged" in out, out


def test_error_lines_escape_names(run_cli, tmp_path: Path) -> None:
    missing = tmp_path / "no\x1b[2Jsuch\nfile.csv"
    code, _, err = run_cli("analyze", str(missing))
    assert code == 1 and len(err.strip().splitlines()) == 1 and "\x1b" not in err and "\\e[2J" in err
