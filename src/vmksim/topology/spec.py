"""Turn what a user types after ``--host`` into a :class:`HostTopology`.

Accepted, tried in this order:

1. a preset name (``vmksim topology list``);
2. an inline spec ``sockets=2,cores_per_socket=24,threads_per_core=2,numa_nodes=2,memory_gb=768``
   (numa_nodes and memory_gb count the whole host; optional mhz, llc_per_node, name);
3. a directory: a Linux sysfs root (containing ``sys/devices/system`` or the
   ``devices/system`` folder itself);
4. a file: hwloc XML (``lstopo --of xml``), the text of ``esxcli hardware cpu
   list`` followed by ``esxcli hardware memory get``, or a TOML file with a
   ``[host]`` table of the inline keys (or a ``preset``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from vmksim.errors import TopologyError
from vmksim.topology.model import DEFAULT_MHZ, HostTopology
from vmksim.topology.presets import PRESETS, preset_names

__all__ = ["SPEC_KEYS", "host_from_mapping", "resolve_host"]

#: Keys of an inline or TOML host spec, with their types.
SPEC_KEYS: dict[str, type] = {
    "name": str,
    "sockets": int,
    "cores_per_socket": int,
    "threads_per_core": int,
    "numa_nodes": int,
    "memory_gb": float,
    "mhz": int,
    "llc_per_node": int,
    "cpu_model": str,
}


def host_from_mapping(values: dict[str, Any], *, source: str, default_name: str = "host") -> HostTopology:
    """Validate a mapping of spec keys (from TOML or an inline spec) into a topology."""
    if "preset" in values:
        name = values["preset"]
        extra = sorted(set(values) - {"preset"})
        if extra:
            raise TopologyError(f"'preset' cannot be combined with {', '.join(extra)}", source=source)
        return _preset(str(name), source)
    unknown = sorted(set(values) - set(SPEC_KEYS))
    if unknown:
        raise TopologyError(
            f"unknown host key '{unknown[0]}' (expected one of: {', '.join(SPEC_KEYS)})", source=source
        )
    for required in ("sockets", "cores_per_socket"):
        if required not in values:
            raise TopologyError(f"missing host key '{required}'", source=source)
    typed: dict[str, Any] = {}
    for key, raw in values.items():
        kind = SPEC_KEYS[key]
        try:
            if kind is int and isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            if kind is int and isinstance(raw, bool):
                raise ValueError
            typed[key] = (
                kind(raw) if kind is not int else int(str(raw), 10) if isinstance(raw, str) else int(raw)
            )
        except (TypeError, ValueError):
            raise TopologyError(
                f"host key '{key}' must be {'an integer' if kind is int else 'a number'}, got {raw!r}",
                source=source,
                where=key,
            ) from None
    name = typed.pop("name", default_name)
    return HostTopology.from_counts(
        name=name,
        sockets=typed["sockets"],
        cores_per_socket=typed["cores_per_socket"],
        threads_per_core=typed.get("threads_per_core", 1),
        numa_nodes=typed.get("numa_nodes"),
        memory_gb=typed.get("memory_gb", 0.0),
        mhz=typed.get("mhz", DEFAULT_MHZ),
        llc_per_node=typed.get("llc_per_node", 1),
        cpu_model=typed.get("cpu_model", ""),
        source=source,
    )


def _preset(name: str, source: str) -> HostTopology:
    try:
        return PRESETS[name]
    except KeyError:
        raise TopologyError(
            f"unknown host preset '{name}' (known: {', '.join(preset_names())})", source=source
        ) from None


def _parse_inline(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise TopologyError(f"expected key=value, got '{part.strip()}'", source="--host")
        values[key] = value.strip()
    return values


def resolve_host(text: str) -> HostTopology:
    """Resolve ``--host`` text (preset, inline spec, sysfs dir or topology file)."""
    if text in PRESETS:
        return PRESETS[text]
    if "=" in text and not Path(text).exists():
        return host_from_mapping(_parse_inline(text), source="--host", default_name="host")
    path = Path(text)
    if path.is_dir():
        from vmksim.topology.sysfs import from_sysfs

        return from_sysfs(path)
    if path.is_file():
        return _from_file(path)
    raise TopologyError(
        f"'{text}' is not a preset, a key=value spec, a directory or a file "
        f"(presets: {', '.join(preset_names())})",
        source="--host",
    )


def _from_file(path: Path) -> HostTopology:
    try:
        head = path.read_bytes()[:4096]
    except OSError as exc:
        raise TopologyError(f"cannot read: {exc.strerror}", source=str(path)) from None
    stripped = head.lstrip()
    if stripped.startswith(b"<?xml") or stripped.startswith(b"<topology"):
        from vmksim.topology.hwloc import from_hwloc_xml

        return from_hwloc_xml(path)
    if stripped.startswith(b"CPU:") or b"Package Id:" in head:
        from vmksim.topology.esxcli import from_esxcli_text

        return from_esxcli_text(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TopologyError(f"not hwloc XML, esxcli text or TOML ({exc})", source=str(path)) from None
    table = data.get("host", data)
    if not isinstance(table, dict):
        raise TopologyError("[host] must be a table", source=str(path))
    return host_from_mapping(table, source=str(path), default_name=path.stem)
