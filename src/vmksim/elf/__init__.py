"""Can this Linux ELF binary run in the ESXi shell? (`vmksim elf check`).

Stand-alone beside the simulator stack (DESIGN.md "Layers"). :mod:`.policy`
holds what each ESXi release accepts, :mod:`.binary` reads what a file needs
(with pyelftools), :mod:`.check` compares the two and gives a verdict with its
reasons. Sources: /work/shared/reference/vmfs-shell-elf-api.md §3.
"""

from __future__ import annotations

from vmksim.elf.binary import BinaryFacts, ElfFacts, ScriptFacts, TextFacts, read_binary
from vmksim.elf.check import Check, Verdict, check_binary, check_path
from vmksim.elf.policy import DEFAULT_RELEASE, Policy, Release, load_policy

__all__ = [
    "DEFAULT_RELEASE",
    "BinaryFacts",
    "Check",
    "ElfFacts",
    "Policy",
    "Release",
    "ScriptFacts",
    "TextFacts",
    "Verdict",
    "check_binary",
    "check_path",
    "load_policy",
    "read_binary",
]
