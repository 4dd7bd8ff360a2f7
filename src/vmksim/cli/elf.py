"""``vmksim elf``: can a Linux binary run in the ESXi shell? (``check``, ``policy``).

Prints the verdicts of :mod:`vmksim.elf.check` and picks the exit code from
the worst one. Sources for the policy: /work/shared/reference/vmfs-shell-elf-api.md §3.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from vmksim.cli._common import OneOf
from vmksim.console import escape_controls
from vmksim.errors import ElfError

EXIT_RUNS = 0
EXIT_ERROR = 1
EXIT_RUNS_IF = 3
EXIT_WILL_NOT_RUN = 4

RELEASES = ("6.7", "7.0", "8.0")
"""The releases in vmksim/data/elf-policy.toml (a test keeps the two in step)."""

CHECK_DESCRIPTION = """\
Check whether Linux ELF binaries (or #! scripts) can run in the shell of an
ESXi release, before you copy them to a host. For each file it reads the ELF
class and machine, static or dynamic linking and the interpreter, the needed
libraries (DT_NEEDED) and the newest symbol versions (GLIBC_2.x, GLIBCXX,
CXXABI, GCC), and compares them with what that ESXi release offers; on ESXi
8.0 it also applies execInstalledOnly (only files installed from a VIB run)
and the 64-bit-only rule.

Verdicts: "runs", "runs if ..." (with the conditions), "will not run: ..."
(with the blockers). VMware does not publish ESXi's glibc version or library
list; vmksim uses documented proxies (binaries built on CentOS 7, glibc 2.17,
run on 6.7-8.0; on Rocky 8, glibc 2.28, only on 8.0) and says so. See every
value and its source with `vmksim elf policy`.
"""

CHECK_EPILOG = f"""\
examples:
  vmksim elf check ./rsync                   one file, with every reason
  vmksim elf check --esxi 7.0 ./rsync        against ESXi 7.0 instead of 8.0
  vmksim elf check --vib ./nutclient         it will be installed from a VIB
  vmksim elf check ./bin/ tools/*            a directory and files: one line each
  vmksim elf check --json ./bin/ | jq '.[] | select(.verdict != "runs")'

A directory is searched recursively for files that start like an ELF binary
or a #! script; symbolic links inside it are skipped.

--json prints a list with one object per file: path, esxi, verdict ("runs",
"runs_if", "will_not_run", or "error" when the file could not be examined),
kind, static, bits, machine, interpreter, needed, max_symbol_versions,
conditions, reasons, error.

exit status (the worst file decides):
  {EXIT_RUNS}  every file runs
  {EXIT_RUNS_IF}  at least one runs only if its conditions hold
  {EXIT_WILL_NOT_RUN}  at least one will not run
  {EXIT_ERROR}  at least one file could not be examined (not ELF, truncated, unreadable)
  2  bad command line
"""

POLICY_EPILOG = """\
examples:
  vmksim elf policy                 every release, every value, with sources
  vmksim elf policy --esxi 7.0      one release
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "elf",
        help="check whether Linux binaries can run in the ESXi shell",
        description="Check Linux ELF binaries against what an ESXi release's shell can run.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  vmksim elf check ./rsync\n  vmksim elf policy --esxi 8.0\n",
    )
    elf_sub = p.add_subparsers(dest="elf_command", metavar="SUBCOMMAND")
    elf_sub.required = True

    check = elf_sub.add_parser(
        "check",
        help="give each binary a verdict: runs, runs if ..., will not run",
        description=CHECK_DESCRIPTION,
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("binaries", nargs="+", metavar="BINARY", help="ELF files, #! scripts or directories")
    _add_release(check)
    check.add_argument(
        "--vib",
        action="store_true",
        help="the files will be installed from a VIB (ESXi 8's execInstalledOnly then lets them run)",
    )
    check.add_argument("--json", action="store_true", help="print machine-readable results (a JSON list)")
    check.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="list every reason under each file (the default for one file)",
    )
    check.set_defaults(func=run_check)

    policy = elf_sub.add_parser(
        "policy",
        help="show what each ESXi release accepts, with the source of every value",
        description="Show the ELF policy of each ESXi release: limits, libraries, interpreters, sources.",
        epilog=POLICY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_release(policy, default=False)
    policy.set_defaults(func=run_policy)


def _add_release(parser: argparse.ArgumentParser, *, default: bool = True) -> None:
    from vmksim.elf.policy import DEFAULT_RELEASE

    parser.add_argument(
        "--esxi",
        action=OneOf,
        allowed=RELEASES,
        default=DEFAULT_RELEASE if default else None,
        metavar="RELEASE",
        help="ESXi release: "
        + ", ".join(RELEASES)
        + (f" (default {DEFAULT_RELEASE})" if default else " (default: all)"),
    )


def run_check(args: argparse.Namespace) -> int:
    from vmksim.elf.binary import ElfFacts
    from vmksim.elf.check import Check, Verdict, check_path, expand_targets
    from vmksim.elf.policy import load_policy

    policy = load_policy()
    release = policy.release(args.esxi)
    targets = list(expand_targets(args.binaries))
    detailed = args.verbose or len(targets) == 1
    symbols = detailed or args.json  # naming the symbols is most of the time on a big directory
    checks: list[Check] = []
    for path, problem in targets:
        if problem is not None:
            checks.append(Check(path, release, None, error=str(ElfError(problem, source=path))))
        else:
            checks.append(check_path(path, policy, release, from_vib=args.vib, symbols=symbols))

    if args.json:
        for c in checks:
            if c.error is not None:
                print(f"vmksim: error: {c.error}", file=sys.stderr)
        json.dump([c.as_dict() for c in checks], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for c in checks:
            _print_check(c, detailed)
        if any(isinstance(c.facts, ElfFacts) and not c.facts.static for c in checks):
            print(
                f"note: checked against {release.name}; its glibc/libstdc++ versions and library list are not "
                f"public, vmksim uses proxies (see `vmksim elf policy --esxi {release.key}`)",
                file=sys.stderr,
            )

    if any(c.error is not None for c in checks):
        return EXIT_ERROR
    worst = max((c.verdict for c in checks if c.verdict), key=lambda v: v.rank, default=Verdict.RUNS)
    return {Verdict.RUNS: EXIT_RUNS, Verdict.RUNS_IF: EXIT_RUNS_IF, Verdict.WILL_NOT_RUN: EXIT_WILL_NOT_RUN}[
        worst
    ]


def _print_check(check: Any, detailed: bool) -> None:
    if check.error is not None:
        sys.stdout.flush()  # keep the error in its place among the verdict lines
        print(f"vmksim: error: {escape_controls(check.error)}", file=sys.stderr)
        return
    # library names, loader paths and versions come from the file: printed escaped (issue 11 item 18)
    print(f"{escape_controls(check.path)}: {escape_controls(check.summary())}")
    if detailed:
        for reason in check.reasons:
            print(f"  - {reason.level.value}: {escape_controls(reason.text)}")


def run_policy(args: argparse.Namespace) -> int:
    from vmksim.elf.policy import Sourced, format_version, load_policy

    policy = load_policy()
    keys = [args.esxi] if args.esxi else sorted(policy.releases)
    for key in keys:
        release = policy.release(key)
        print(f"{release.name}")
        rows: list[tuple[str, str, Sourced[Any]]] = [
            ("ELF classes", ", ".join(f"{b}-bit" for b in sorted(release.bits.value)), release.bits),
            ("machines", ", ".join(sorted(release.machines.value)), release.machines),
            (
                "loaders",
                ", ".join(p for _, p in sorted(release.interpreters.value.items())),
                release.interpreters,
            ),
            (
                "execInstalledOnly",
                "on" if release.exec_installed_only.value else "off",
                release.exec_installed_only,
            ),
        ]
        rows += [(f"max {ns}", format_version(v.value), v) for ns, v in release.max_versions.items()]
        for label, value, sourced in rows:
            exact = "exact" if sourced.exact else "proxy"
            print(f"  {label:<18} {value:<36} [{exact}] {sourced.note or sourced.source.says}")
            print(f"  {'':<18} {'':<36} {sourced.source.url}")
        print()
    print("Libraries (DT_NEEDED) known on ESXi; any other is treated as absent:")
    for lib in policy.libraries.values():
        print(f"  {lib.name:<24} {lib.availability.value:<8} {lib.note} ({lib.source.url})")
    print("\nScript interpreters (#!); any other: runs if it exists on the host:")
    for script in policy.scripts.values():
        print(f"  {script.name:<24} {script.availability.value:<8} {script.note} ({script.source.url})")
    return EXIT_RUNS
