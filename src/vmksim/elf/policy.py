"""What each ESXi release's userworld accepts from a Linux ELF binary.

Models the loader-side limits of ESXi's glibc userworld: ELF classes and
machines, the dynamic loader path, the newest symbol version per namespace
(GLIBC, GLIBCXX, CXXABI, GCC), the shared libraries that exist, the
execInstalledOnly default and the script interpreters of the BusyBox shell.
The shape follows auditwheel's manylinux policy (allowed versions per
namespace + a soname whitelist, https://github.com/pypa/auditwheel).

The values live in ``vmksim/data/elf-policy.toml``; each one names a source
and says whether it is exact. VMware publishes neither ESXi's glibc version nor
its library list, so those values are proxies: builds on CentOS 7 (glibc 2.17)
run on 6.7-8.0 and builds on Rocky 8 (glibc 2.28) only on 8.0
(https://github.com/rgc2000/NutClient-ESXi/issues/7); glibc lives in /lib and
/lib64 (https://www.v-front.de/2012/11/a-daemons-vib-building-software-package.html).
execInstalledOnly is on by default in 8.0
(https://docs.vmware.com/en/VMware-vSphere/8.0/vsphere-security/GUID-DF6A7974-62F9-47DB-A990-963F3B3AEA77.html).

Simplified: no per-update differences (7.0U1 vs 7.0U3), no symbol blacklist,
no syscall coverage of the VMkernel.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any, Generic, TypeVar

from vmksim.errors import InputError

__all__ = [
    "DEFAULT_RELEASE",
    "Availability",
    "Policy",
    "Provided",
    "Release",
    "Source",
    "Sourced",
    "Version",
    "format_version",
    "load_policy",
    "parse_version",
]

T = TypeVar("T")

Version = tuple[int, ...]
"""A dotted version such as GLIBC's ``2.17``, as a tuple that compares in order."""

DEFAULT_RELEASE = "8.0"
"""The release `elf check` assumes without ``--esxi``: the current one."""

POLICY_FILE = "elf-policy.toml"


def parse_version(text: str) -> Version | None:
    """``"2.2.5"`` → ``(2, 2, 5)``; ``None`` when *text* is not dotted numbers."""
    parts = text.split(".")
    if not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def format_version(version: Version) -> str:
    return ".".join(str(n) for n in version)


class Availability(Enum):
    """Whether ESXi ships a library or script interpreter."""

    PRESENT = "present"
    """The sources say it is there."""
    LIKELY = "likely"
    """Very probably there, not confirmed in public: the verdict becomes "runs if"."""
    ABSENT = "absent"
    """The sources say it is not there."""


@dataclass(frozen=True, slots=True)
class Source:
    key: str
    url: str
    says: str


@dataclass(frozen=True, slots=True)
class Sourced(Generic[T]):
    """A policy value with where it comes from."""

    value: T
    source: Source
    exact: bool
    """False when the value is a proxy or an assumption (ESXi's real value is not public)."""
    note: str = ""

    def provenance(self) -> str:
        """How sure the value is and why, for the output: ``"proxy: ... (URL)"``.

        The notes of inexact values start by saying so ("proxy: ..." / "assumption: ...").
        """
        return f"{self.note or self.source.says} ({self.source.url})"


@dataclass(frozen=True, slots=True)
class Provided:
    """A library (by soname) or a script interpreter (by path) and whether ESXi ships it."""

    name: str
    availability: Availability
    source: Source
    note: str


@dataclass(frozen=True, slots=True)
class Release:
    key: str
    """``"8.0"``, as given to ``--esxi``."""
    name: str
    bits: Sourced[frozenset[int]]
    machines: Sourced[frozenset[str]]
    """pyelftools' e_machine names, e.g. ``EM_X86_64``."""
    exec_installed_only: Sourced[bool]
    """Default of execInstalledOnly: True → a binary runs only if installed from a VIB."""
    interpreters: Sourced[dict[int, str]]
    """ELF class (32/64) → path of the dynamic loader on ESXi."""
    max_versions: dict[str, Sourced[Version]]
    """Symbol-version namespace (``GLIBC``) → newest version ESXi provides."""


@dataclass(frozen=True, slots=True)
class Policy:
    releases: dict[str, Release]
    libraries: dict[str, Provided]
    scripts: dict[str, Provided]
    path: str
    """Where the policy was read from, for messages."""

    def release(self, key: str) -> Release:
        try:
            return self.releases[key]
        except KeyError:
            known = ", ".join(sorted(self.releases))
            raise InputError(f"unknown ESXi release {key!r}; known: {known}") from None


def load_policy(path: str | Path | None = None) -> Policy:
    """Read and validate the policy file (the packaged one unless *path* is given)."""
    if path is None:
        ref = resources.files("vmksim").joinpath("data", POLICY_FILE)
        text, where = ref.read_text(encoding="utf-8"), f"vmksim/data/{POLICY_FILE}"
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read policy: {exc.strerror}", source=where) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=where) from None
    return _Reader(where, raw).policy()


class _Reader:
    """Turns the parsed TOML into a :class:`Policy`, naming the key of any bad value."""

    def __init__(self, where: str, raw: dict[str, Any]):
        self.where = where
        self.raw = raw
        self.sources: dict[str, Source] = {}

    def fail(self, key: str, problem: str) -> InputError:
        return InputError(problem, source=self.where, where=key)

    def table(self, parent: dict[str, Any], name: str, key: str) -> dict[str, Any]:
        value = parent.get(name)
        if not isinstance(value, dict):
            raise self.fail(key, "missing table")
        return value

    def policy(self) -> Policy:
        if self.raw.get("schema") != 1:
            raise self.fail("schema", "expected schema = 1")
        for name, entry in self.table(self.raw, "sources", "sources").items():
            key = f"sources.{name}"
            if not isinstance(entry, dict) or not str(entry.get("url", "")).startswith("http"):
                raise self.fail(key, "a source needs an http(s) url")
            self.sources[name] = Source(name, entry["url"], str(entry.get("says", "")).strip())
        releases = {
            name: self.release(name, entry)
            for name, entry in self.table(self.raw, "releases", "releases").items()
        }
        return Policy(
            releases=releases,
            libraries=self.provided("libraries"),
            scripts=self.provided("scripts"),
            path=self.where,
        )

    def source(self, entry: dict[str, Any], key: str) -> Source:
        name = entry.get("source")
        if name not in self.sources:
            raise self.fail(key, f"source {name!r} is not in [sources]")
        return self.sources[name]

    def sourced(self, entry: Any, key: str, convert: Any) -> Sourced[Any]:
        if not isinstance(entry, dict) or "value" not in entry or not isinstance(entry.get("exact"), bool):
            raise self.fail(key, "expected { value = ..., source = ..., exact = true|false }")
        try:
            value = convert(entry["value"])
        except (TypeError, ValueError) as exc:
            raise self.fail(key, f"bad value {entry['value']!r}: {exc}") from None
        return Sourced(value, self.source(entry, key), entry["exact"], str(entry.get("note", "")))

    def release(self, name: str, entry: dict[str, Any]) -> Release:
        key = f"releases.{name}"
        versions = self.table(entry, "max_versions", f"{key}.max_versions")
        return Release(
            key=name,
            name=str(entry.get("name", f"ESXi {name}")),
            bits=self.sourced(entry.get("bits"), f"{key}.bits", lambda v: frozenset(int(b) for b in v)),
            machines=self.sourced(entry.get("machines"), f"{key}.machines", lambda v: frozenset(map(str, v))),
            exec_installed_only=self.sourced(
                entry.get("exec_installed_only"), f"{key}.exec_installed_only", bool
            ),
            interpreters=self.sourced(
                entry.get("interpreters"),
                f"{key}.interpreters",
                lambda v: {int(k): str(p) for k, p in v.items()},
            ),
            max_versions={
                ns: self.sourced(v, f"{key}.max_versions.{ns}", _version) for ns, v in versions.items()
            },
        )

    def provided(self, section: str) -> dict[str, Provided]:
        out: dict[str, Provided] = {}
        for name, entry in self.table(self.raw, section, section).items():
            key = f"{section}.{name}"
            try:
                availability = Availability(entry.get("status"))
            except ValueError:
                raise self.fail(key, "status must be present, likely or absent") from None
            out[name] = Provided(name, availability, self.source(entry, key), str(entry.get("note", "")))
        return out


def _version(value: Any) -> Version:
    version = parse_version(str(value))
    if version is None:
        raise ValueError("expected a dotted version such as 2.17")
    return version
