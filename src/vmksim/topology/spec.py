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

import math
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

from vmksim.errors import TopologyError
from vmksim.topology.model import DEFAULT_MHZ, HostTopology
from vmksim.topology.presets import PRESETS, preset_names

__all__ = ["SPEC_KEYS", "host_from_mapping", "resolve_host"]

#: Integer text of a spec: at most 18 digits (far above any host size, below Python's
#: int-from-text limit), so a hostile value is a clear error, not a ValueError from int().
_INT_TEXT = re.compile(r"[+-]?[0-9]{1,18}")

#: Bytes read to tell hwloc XML, esxcli text and TOML apart.
_SNIFF_BYTES = 4096
#: Largest host TOML read: a [host] table is a few hundred bytes.
MAX_TOML_BYTES = 1024 * 1024

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
            f"unknown host key {unknown[0]!r} (expected one of: {', '.join(SPEC_KEYS)})", source=source
        )
    for required in ("sockets", "cores_per_socket"):
        if required not in values:
            raise TopologyError(f"missing host key '{required}'", source=source)
    typed = {key: _typed(key, raw, source) for key, raw in values.items()}
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


def _typed(key: str, raw: Any, source: str) -> Any:
    """One spec value in its key's type; a bad one is a TopologyError naming the key.

    Integer keys take whole numbers only: an integral float such as ``1e12`` from TOML is
    refused like ``2.5`` (issue 11 item 13), so a float never sizes a host. Numbers must be
    finite (``inf``/``nan`` are valid TOML and float() text).
    """
    kind = SPEC_KEYS[key]
    ok = True
    value: Any = None
    if kind is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and _INT_TEXT.fullmatch(raw.strip()):
            value = int(raw.strip(), 10)
        else:
            ok = False
    elif kind is float:
        try:
            value = float(raw) if not isinstance(raw, bool) else None
        except (TypeError, ValueError):
            value = None
        ok = value is not None and math.isfinite(value)
    else:
        ok = isinstance(raw, str)
        value = raw
    if not ok:
        expected = {int: "an integer", float: "a finite number"}.get(kind, "a string")
        raise TopologyError(f"host key '{key}' must be {expected}, got {raw!r}", source=source, where=key)
    return value


def _preset(name: str, source: str) -> HostTopology:
    try:
        return PRESETS[name]
    except KeyError:
        raise TopologyError(
            f"unknown host preset '{name}' (known: {', '.join(preset_names())})", source=source
        ) from None


def _parse_inline(text: str, option: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise TopologyError(f"expected key=value, got {part.strip()!r}", source=option)
        values[key] = value.strip()
    return values


def _path_mode(text: str) -> int | None:
    """``st_mode`` of the path *text*, or None when it is not an existing path.

    A spec such as ``sockets=2,name=<300 characters>`` is not a path: ``stat`` fails with
    ENAMETOOLONG (or ValueError for an embedded NUL), which means "not a path" here rather
    than an error (issue 11 item 5).
    """
    try:
        return os.stat(text).st_mode
    except (OSError, ValueError):
        return None


def resolve_host(text: str, *, option: str = "--host") -> HostTopology:
    """Resolve ``--host`` text (preset, inline spec, sysfs dir or topology file).

    *option* is what the user typed the text as (``--host``, or ``HOST`` for a positional
    argument): errors about inline text name it.
    """
    if text in PRESETS:
        return PRESETS[text]
    mode = _path_mode(text)
    if "=" in text and mode is None:
        return host_from_mapping(_parse_inline(text, option), source=option, default_name="host")
    if mode is not None and stat.S_ISDIR(mode):
        from vmksim.topology.sysfs import from_sysfs

        return from_sysfs(Path(text))
    if mode is not None and stat.S_ISREG(mode):
        return _from_file(Path(text))
    if mode is not None:
        raise TopologyError("not a regular file or a directory", source=text)
    shown = text if len(text) <= 80 else text[:77] + "..."
    raise TopologyError(
        f"{shown!r} is not a preset, a key=value spec, a directory or a file "
        f"(presets: {', '.join(preset_names())})",
        source=option,
    )


def _from_file(path: Path) -> HostTopology:
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)  # only the start decides the format; not the whole file
    except OSError as exc:
        raise TopologyError(f"cannot read: {exc.strerror}", source=str(path)) from None
    stripped = head.lstrip()
    if stripped.startswith(b"<?xml") or stripped.startswith(b"<topology"):
        from vmksim.topology.hwloc import from_hwloc_xml

        return from_hwloc_xml(path)
    if stripped.startswith(b"CPU:") or b"Package Id:" in head:
        from vmksim.topology.esxcli import from_esxcli_text

        return from_esxcli_text(path)
    return _from_toml(path)


def _from_toml(path: Path) -> HostTopology:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_TOML_BYTES + 1)
    except OSError as exc:
        raise TopologyError(f"cannot read: {exc.strerror}", source=str(path)) from None
    if len(raw) > MAX_TOML_BYTES:
        raise TopologyError(
            f"larger than {MAX_TOML_BYTES // 1024} KiB: not hwloc XML, esxcli text or a host TOML",
            source=str(path),
        )
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TopologyError(f"not hwloc XML, esxcli text or TOML ({exc})", source=str(path)) from None
    table = data.get("host", data)
    if not isinstance(table, dict):
        raise TopologyError("[host] must be a table", source=str(path))
    return host_from_mapping(table, source=str(path), default_name=path.stem)
