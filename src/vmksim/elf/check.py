"""The verdict of `vmksim elf check`: will this file run in an ESXi release's shell?

Models the decisions ESXi takes when its shell executes a file: the kernel
accepts the ELF class and machine (ESXi 8 runs 64-bit x86 only), the dynamic
loader named in PT_INTERP must exist, every DT_NEEDED library must be shipped,
every required symbol version (GLIBC_2.x, GLIBCXX, CXXABI, GCC) must be no
newer than ESXi's libraries define, and on ESXi 8 the runtime
execInstalledOnly refuses files not installed from a VIB
(https://docs.vmware.com/en/VMware-vSphere/8.0/vsphere-security/GUID-DF6A7974-62F9-47DB-A990-963F3B3AEA77.html).
A ``#!`` script runs if ESXi has its interpreter; a text file without ``#!`` is
treated as a binary by ESXi 8 (https://github.com/lamw/ghettoVCB/issues/271).
This is auditwheel's policy check (https://github.com/pypa/auditwheel) with
ESXi's limits from :mod:`vmksim.elf.policy`.

Each rule adds :class:`Reason` s: information, a condition ("runs if …") or a
blocker ("will not run"); the worst one sets the :class:`Verdict`.

Simplified: it does not know which system calls the VMkernel implements, so a
static binary that passes is "runs" as far as loading goes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from vmksim.elf.binary import (
    BinaryFacts,
    ElfFacts,
    ElfKind,
    ScriptFacts,
    TextFacts,
    looks_checkable,
    read_binary,
)
from vmksim.elf.policy import Availability, Policy, Release, Version, format_version, parse_version
from vmksim.errors import ElfError

__all__ = [
    "Check",
    "Level",
    "Reason",
    "Verdict",
    "check_binary",
    "check_path",
    "expand_targets",
    "max_symbol_versions",
]

MACHINE_NAMES = {"EM_X86_64": "x86-64", "EM_386": "i386", "EM_AARCH64": "AArch64", "EM_ARM": "ARM"}
X86_MACHINES = frozenset({"EM_X86_64", "EM_386"})
LINUX_OSABIS = frozenset({"ELFOSABI_SYSV", "ELFOSABI_LINUX"})

# Marker versions that stand for a minimum glibc (glibc 2.36 added DT_RELR support).
MARKER_VERSIONS: dict[str, tuple[str, Version]] = {"GLIBC_ABI_DT_RELR": ("GLIBC", (2, 36))}


class Verdict(Enum):
    """Worst first in :data:`Verdict.rank`; the value is the ``--json`` spelling."""

    RUNS = "runs"
    RUNS_IF = "runs_if"
    WILL_NOT_RUN = "will_not_run"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Verdict.RUNS: 0, Verdict.RUNS_IF: 1, Verdict.WILL_NOT_RUN: 2}


class Level(Enum):
    INFO = "info"
    CONDITION = "condition"
    BLOCKER = "blocker"


@dataclass(frozen=True, slots=True)
class Reason:
    level: Level
    text: str
    """A sentence the user reads; cites a source where the fact comes from one."""
    short: str = ""
    """For a CONDITION, what follows "runs if" in the verdict line; for a BLOCKER, its phrase there."""


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome for one file: a verdict with its reasons, or the error that stopped the check."""

    path: str
    release: Release
    facts: BinaryFacts | None
    reasons: tuple[Reason, ...] = ()
    error: str | None = None
    """The one-line message (naming the file) when the file could not be examined."""

    @property
    def verdict(self) -> Verdict | None:
        if self.error is not None:
            return None
        levels = {r.level for r in self.reasons}
        if Level.BLOCKER in levels:
            return Verdict.WILL_NOT_RUN
        return Verdict.RUNS_IF if Level.CONDITION in levels else Verdict.RUNS

    def summary(self) -> str:
        """``runs`` / ``runs if A, and B`` / ``will not run: X; Y`` / ``error: ...``."""
        verdict = self.verdict
        if verdict is None:
            return f"error: {self.error}"
        if verdict is Verdict.RUNS:
            return "runs"
        if verdict is Verdict.RUNS_IF:
            return "runs if " + ", and ".join(r.short for r in self.reasons if r.level is Level.CONDITION)
        return "will not run: " + "; ".join(r.short for r in self.reasons if r.level is Level.BLOCKER)

    def as_dict(self) -> dict[str, Any]:
        facts = self.facts
        elf = facts if isinstance(facts, ElfFacts) else None
        verdict = self.verdict
        return {
            "path": self.path,
            "esxi": self.release.key,
            "verdict": verdict.value if verdict else "error",
            "kind": _kind_name(facts),
            "static": bool(elf and elf.static),
            "bits": elf.bits if elf else None,
            "machine": MACHINE_NAMES.get(elf.machine, elf.machine) if elf else None,
            "interpreter": _interpreter(facts),
            "needed": list(elf.needed) if elf else [],
            "max_symbol_versions": max_symbol_versions(elf) if elf else {},
            "conditions": [r.short for r in self.reasons if r.level is Level.CONDITION],
            "reasons": [r.text for r in self.reasons],
            "error": self.error,
        }


def _kind_name(facts: BinaryFacts | None) -> str | None:
    if isinstance(facts, ElfFacts):
        return facts.kind.value
    if isinstance(facts, ScriptFacts):
        return "script"
    return "text" if isinstance(facts, TextFacts) else None


def _interpreter(facts: BinaryFacts | None) -> str | None:
    if isinstance(facts, ElfFacts):
        return facts.interpreter
    return facts.interpreter if isinstance(facts, ScriptFacts) else None


# --------------------------------------------------------------------------- symbol versions


def split_version(name: str) -> tuple[str, Version] | None:
    """``GLIBC_2.2.5`` → ``("GLIBC", (2, 2, 5))``; ``None`` for names like ``GLIBC_PRIVATE``."""
    if name in MARKER_VERSIONS:
        return MARKER_VERSIONS[name]
    namespace, sep, number = name.rpartition("_")
    version = parse_version(number) if sep else None
    return (namespace, version) if namespace and version is not None else None


def max_symbol_versions(facts: ElfFacts) -> dict[str, str]:
    """Namespace → newest version the file needs, e.g. ``{"GLIBC": "2.34"}``."""
    best: dict[str, Version] = {}
    for need in facts.version_needs:
        split = split_version(need.name)
        if split is not None and split[1] > best.get(split[0], ()):
            best[split[0]] = split[1]
    return {ns: format_version(v) for ns, v in sorted(best.items())}


# --------------------------------------------------------------------------- rules for ELF files


def _blocker(short: str, detail: str) -> Reason:
    return Reason(Level.BLOCKER, f"{short}: {detail}", short)


ElfRule = Callable[[ElfFacts, Policy, Release, bool], list[Reason]]


def _format_rule(facts: ElfFacts, policy: Policy, release: Release, from_vib: bool) -> list[Reason]:
    machine = MACHINE_NAMES.get(facts.machine, facts.machine)
    out = [Reason(Level.INFO, f"ELF {facts.bits}-bit {machine} {facts.kind.value}")]
    if facts.bits not in release.bits.value:
        allowed = " and ".join(f"{b}-bit" for b in sorted(release.bits.value))
        out.append(
            _blocker(
                f"{facts.bits}-bit ELF",
                f"{release.name} runs {allowed} binaries only ({release.bits.source.url})",
            )
        )
    elif facts.bits == 32:
        out.append(Reason(Level.INFO, f"32-bit: {release.name} still runs 32-bit binaries; ESXi 8 will not"))
    implied = facts.bits not in release.bits.value and facts.machine in X86_MACHINES  # said above
    if (facts.machine not in release.machines.value and not implied) or not facts.little_endian:
        allowed = ", ".join(sorted(MACHINE_NAMES.get(m, m) for m in release.machines.value))
        out.append(
            _blocker(
                f"built for {machine}",
                f"{release.name} runs {allowed} code only ({release.machines.source.url})",
            )
        )
    if facts.osabi not in LINUX_OSABIS:
        out.append(_blocker(f"built for another OS ({facts.osabi})", "ESXi runs Linux ELF binaries"))
    if facts.kind in (ElfKind.OBJECT, ElfKind.CORE):
        out.append(_blocker(f"{facts.kind.value}, not a program", "link it into an executable"))
    elif facts.kind is ElfKind.SHARED_LIBRARY:
        out.append(Reason(Level.INFO, "a shared library: checked as the program that loads it would need it"))
    return out


def _linking_rule(facts: ElfFacts, policy: Policy, release: Release, from_vib: bool) -> list[Reason]:
    if facts.kind in (ElfKind.OBJECT, ElfKind.CORE):
        return []
    if facts.static:
        return [
            Reason(
                Level.INFO,
                "statically linked: needs no loader or library from ESXi (it still relies on the "
                "VMkernel's Linux-compatible system calls, which vmksim does not check)",
            )
        ]
    expected = release.interpreters.value.get(facts.bits)
    if facts.interpreter is None:
        if facts.kind is ElfKind.SHARED_LIBRARY:
            return []
        return [_blocker("no interpreter", "dynamically linked but names no loader (PT_INTERP)")]
    if facts.interpreter != expected:
        where = f"ESXi has {expected}" if expected else f"{release.name} has no {facts.bits}-bit loader"
        return [
            _blocker(
                f"interpreter {facts.interpreter} is not on {release.name}",
                f"{where} ({release.interpreters.source.url}); link statically or build against glibc",
            )
        ]
    return [Reason(Level.INFO, f"dynamically linked; interpreter {facts.interpreter} is on {release.name}")]


def _library_rule(facts: ElfFacts, policy: Policy, release: Release, from_vib: bool) -> list[Reason]:
    out: list[Reason] = []
    present: list[str] = []
    for soname in facts.needed:
        lib = policy.libraries.get(soname)
        if lib is not None and lib.availability is Availability.PRESENT:
            present.append(soname)
        elif lib is not None and lib.availability is Availability.LIKELY:
            out.append(
                Reason(
                    Level.CONDITION,
                    f"needs {soname}: {lib.note} ({lib.source.url})",
                    short=f"ESXi ships {soname} (likely, not confirmed in public)",
                )
            )
        else:
            out.append(
                _blocker(
                    f"needs {soname}",
                    "not among the libraries known on ESXi (the list is not public; anything beyond "
                    "glibc and the GCC runtime is treated as absent until checked on a host); put it "
                    "beside the binary with LD_LIBRARY_PATH, or link it statically",
                )
            )
    if present:
        source = policy.libraries[present[0]].source.url
        out.insert(
            0,
            Reason(
                Level.INFO,
                f"needs {', '.join(present)}: glibc, which ESXi ships in /lib and /lib64 "
                f"(each file is not listed in public; {source})",
            ),
        )
    return out


def _version_rule(facts: ElfFacts, policy: Policy, release: Release, from_vib: bool) -> list[Reason]:
    if facts.static:
        return []
    if not facts.versions_known:
        return [
            Reason(
                Level.CONDITION,
                "symbol versions unknown: the file has no section headers to read .gnu.version_r from",
                short="its symbol versions are old enough (unreadable: no section headers)",
            )
        ]
    out: list[Reason] = []
    needed = max_symbol_versions(facts)
    for need in facts.version_needs:
        if need.name == "GLIBC_PRIVATE":
            out.append(
                _blocker(
                    f"needs GLIBC_PRIVATE from {need.library}",
                    "glibc's internal interface, which ties the file to one glibc build",
                )
            )
    within: list[str] = []
    for namespace, text in needed.items():
        limit = release.max_versions.get(namespace)
        if limit is None:
            continue
        version = parse_version(text) or ()
        if version <= limit.value:
            within.append(f"{namespace} {text} (limit {format_version(limit.value)})")
            continue
        culprits = _culprits(facts, namespace, limit.value)
        out.append(
            _blocker(
                f"needs {namespace}_{text}, newer than {release.name}'s {format_version(limit.value)}",
                f"pulled in by {culprits}; {limit.provenance()}; build on an older "
                "distribution (e.g. CentOS 7 or Rocky 8) or link statically",
            )
        )
    if within:
        caveat = (
            ""
            if all(release.max_versions[w.split()[0]].exact for w in within)
            else ("; the limits are proxies, ESXi's exact versions are not public")
        )
        out.insert(
            0, Reason(Level.INFO, f"symbol versions within {release.name}: {', '.join(within)}{caveat}")
        )
    return out


def _culprits(facts: ElfFacts, namespace: str, limit: Version) -> str:
    """``__libc_start_main@GLIBC_2.34, ...``: the symbols that need versions over *limit*, newest first."""
    names: list[str] = []
    for need in facts.version_needs:
        split = split_version(need.name)
        if split and split[0] == namespace and split[1] > limit:
            names.extend(f"{s}@{need.name}" for s in need.symbols)
    names.sort(key=lambda n: split_version(n.rpartition("@")[2]) or ("", ()), reverse=True)
    return ", ".join(names[:4]) if names else "symbols not named (use --verbose or --json)"


def _exec_installed_only_rule(
    facts: ElfFacts, policy: Policy, release: Release, from_vib: bool
) -> list[Reason]:
    if facts.kind in (ElfKind.OBJECT, ElfKind.CORE, ElfKind.SHARED_LIBRARY):
        return []
    return _exec_installed_only(release, from_vib)


def _exec_installed_only(release: Release, from_vib: bool) -> list[Reason]:
    setting = release.exec_installed_only
    if not setting.value:
        return [
            Reason(Level.INFO, f"execInstalledOnly ({release.name}): {setting.note} ({setting.source.url})")
        ]
    if from_vib:
        return [
            Reason(Level.INFO, f"installed from a VIB, so {release.name}'s execInstalledOnly lets it run")
        ]
    return [
        Reason(
            Level.CONDITION,
            f"execInstalledOnly ({release.name}): {setting.note}; a copied file fails with "
            f'"Operation not permitted" ({setting.source.url})',
            short="installed from a VIB (or execInstalledOnly is turned off)",
        )
    ]


ELF_RULES: tuple[ElfRule, ...] = (
    _format_rule,
    _linking_rule,
    _library_rule,
    _version_rule,
    _exec_installed_only_rule,
)


# --------------------------------------------------------------------------- scripts and text files


def _script_reasons(facts: ScriptFacts, policy: Policy, release: Release, from_vib: bool) -> list[Reason]:
    known = policy.scripts.get(facts.interpreter)
    head = f"#! script for {facts.interpreter}"
    if known is None:
        return [
            Reason(
                Level.CONDITION,
                f"{head}: vmksim knows ESXi's /bin/sh and /bin/ash only",
                short=f"{facts.interpreter} exists on the host",
            )
        ]
    if known.availability is Availability.ABSENT:
        return [_blocker(f"needs {facts.interpreter}", f"{known.note} ({known.source.url})")]
    return [
        Reason(Level.INFO, f"{head}: {known.note} ({known.source.url})"),
        Reason(
            Level.INFO,
            "execInstalledOnly lets a #! script run because its interpreter is installed "
            "(https://github.com/lamw/ghettoVCB/issues/271)",
        ),
    ]


def _text_reasons(facts: TextFacts, policy: Policy, release: Release, from_vib: bool) -> list[Reason]:
    text = "text file without a #! line"
    if release.exec_installed_only.value:
        return [
            _blocker(
                f"{text}",
                f"{release.name} treats it as a binary and execInstalledOnly refuses it "
                '("Operation not permitted"); add #!/bin/sh as its first line, or run it as `sh FILE` '
                "(https://github.com/lamw/ghettoVCB/issues/271)",
            )
        ]
    return [
        Reason(
            Level.CONDITION,
            f"{text}: the shell runs it as a shell script; add #!/bin/sh to be sure (ESXi 8 requires it)",
            short="started from the ESXi shell (it has no #! line)",
        )
    ]


# --------------------------------------------------------------------------- entry points


def check_binary(facts: BinaryFacts, policy: Policy, release: Release, *, from_vib: bool = False) -> Check:
    """Apply *release*'s policy to what :func:`~vmksim.elf.binary.read_binary` found."""
    reasons: list[Reason] = []
    if isinstance(facts, ElfFacts):
        for rule in ELF_RULES:
            reasons.extend(rule(facts, policy, release, from_vib))
    elif isinstance(facts, ScriptFacts):
        reasons = _script_reasons(facts, policy, release, from_vib)
    else:
        reasons = _text_reasons(facts, policy, release, from_vib)
    return Check(facts.path, release, facts, tuple(reasons))


def check_path(
    path: str, policy: Policy, release: Release, *, from_vib: bool = False, symbols: bool = True
) -> Check:
    """Read and check one file; an unreadable file gives a :class:`Check` carrying the error.

    *symbols* = False skips naming the symbols behind a too-new version (faster on big directories).
    """
    try:
        facts = read_binary(path, symbols=symbols)
    except ElfError as exc:
        return Check(path, release, None, error=str(exc))
    return check_binary(facts, policy, release, from_vib=from_vib)


def expand_targets(paths: Sequence[str]) -> Iterator[tuple[str, str | None]]:
    """Yield ``(path, None)`` per file to check, or ``(path, problem)`` for a path that gives none.

    A named file is always checked. A directory is walked in sorted order; only
    files starting like an ELF binary or a ``#!`` script are checked, and
    symbolic links inside it are not followed (each real file is reported once).
    """
    for path in paths:
        if not os.path.isdir(path):
            yield path, None
            continue
        found = False
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                if not os.path.islink(full) and looks_checkable(full):
                    found = True
                    yield full, None
        if not found:
            yield path, "no ELF binaries or #! scripts in this directory"
