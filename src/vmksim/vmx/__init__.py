"""``.vmx`` files (parse, write) and the VM configuration model built from them."""

from vmksim.vmx.config import (
    SHARE_LEVELS,
    LatencySensitivity,
    VmConfig,
    load_vm,
    parse_bool,
    vm_from_options,
    vm_from_vmx,
)
from vmksim.vmx.file import Place, VmxFile, decode_value, encode_value, parse_vmx, read_vmx

__all__ = [
    "SHARE_LEVELS",
    "LatencySensitivity",
    "Place",
    "VmConfig",
    "VmxFile",
    "decode_value",
    "encode_value",
    "load_vm",
    "parse_bool",
    "parse_vmx",
    "read_vmx",
    "vm_from_options",
    "vm_from_vmx",
]
