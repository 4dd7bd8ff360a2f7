"""The ash interpreter of `vmksim shell` (script syntax, applets, file system) and the CLI around it.

Expected outputs follow from POSIX shell semantics and BusyBox's documented applet behaviour,
applied by hand to the inputs each test writes.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("bashlex")

from test_shell import sh_run, tiny_scenario
from vmksim.shell.host import ShellHost
from vmksim.shell.interp import Shell
from vmksim.shell.session import completion_tree, interact


@pytest.fixture
def shell() -> Shell:
    return Shell(ShellHost(tiny_scenario(), paused=True, jit=False))


@pytest.mark.parametrize(
    ("line", "out"),
    [
        ("echo a; echo b", "a\nb\n"),
        ("false && echo no || echo yes", "yes\n"),
        ("true && echo yes || echo no", "yes\n"),
        ("x=1; echo $x ${x} \"$x\" '$x'", "1 1 1 $x\n"),
        ("echo ${unset:-fallback} ${#HOME}", "fallback 1\n"),
        ("for i in 1 2 3; do echo i$i; done", "i1\ni2\ni3\n"),
        ("i=a; while [ $i != aaa ]; do i=${i}a; done; echo $i", "aaa\n"),
        ("i=a; until [ $i = aa ]; do i=${i}a; done; echo $i", "aa\n"),
        ("if [ 2 -gt 3 ]; then echo big; elif [ 2 -eq 2 ]; then echo two; else echo other; fi", "two\n"),
        ("v=$(echo 'a  b'); echo \"$v\"; echo $v", "a  b\na b\n"),
        ("printf_is_missing=1; echo $?", "0\n"),
        ("nosuch; echo $?", "127\n"),
        ("printf 'x\\n' | wc -l", "0\n"),
        ("echo 'b\na\nb\nc' > /tmp/f; sort /tmp/f | uniq -c", "      1 a\n      2 b\n      1 c\n"),
        ("echo 'b\na\nb' > /tmp/f; sort -u /tmp/f; grep -c b /tmp/f; grep -v b /tmp/f", "a\nb\n2\na\n"),
        ("echo 'k=v1,w=v2' | cut -d, -f2 | cut -d= -f2", "v2\n"),
        ("echo 'one two three' | grep -o 't[a-z]*'", "two\nthree\n"),
        ("echo x > /tmp/a; echo y >> /tmp/a; cat /tmp/a; wc -l < /tmp/a", "x\ny\n2\n"),
        ("echo '1\n2\n3\n4' > /tmp/n; head -n 2 /tmp/n; tail -1 /tmp/n", "1\n2\n4\n"),
        ("echo '10\n9\n100' | sort -n | head -1", "9\n"),
        ("cd /vmfs/volumes/datastore1 && pwd && ls", "/vmfs/volumes/datastore1\ndb\nweb\n"),
        ("nosuch 2>/dev/null; echo done", "done\n"),
        ("nosuch 2>&1 | grep -c found", "1\n"),
        ("{ echo a; echo b; } | wc -l", "2\n"),
        ('f() { echo "$# $1"; shift; echo "$@"; return 7; echo no; }; f a b c; echo $?', "3 a\nb c\n7\n"),
        # sh -c CMD NAME ARGS: CMD in a child with $1... = ARGS; its exit ends the child only (QA)
        ('sh -c "exit 3"; echo $?', "3\n"),
        ("sh -c 'echo $# $1' name one two; echo after", "2 one\nafter\n"),
        ("count() { esxcli vm process list | grep -c 'World ID'; }; n=$(count); echo vms=$n", "vms=2\n"),
        ("f=web.vmx; echo ${f%.vmx} ${f#*.} ${f%%e*} ${f##*[.b]}", "web vmx w vmx\n"),
        (
            "echo ${#HOME} ${u-dflt} ${u:+alt} ${HOME:+alt}",
            "1 dflt alt\n",
        ),  # an unquoted empty expansion is no field
        ("echo a 3>/tmp/three; cat /tmp/three; echo end", "a\nend\n"),
        ("cd /tmp; cd /etc; cd -; pwd", "/tmp\n/tmp\n"),
        ("echo '1\n2\n3' | tail -n +2", "2\n3\n"),
    ],
)
def test_script_syntax(shell: Shell, line: str, out: str) -> None:
    assert sh_run(shell, line)[1] == out


def test_errors_of_expansion_recursion_and_return_end_the_command_not_the_session(shell: Shell) -> None:
    assert sh_run(shell, "echo ${nothing:?is required}; echo next") == (
        0,
        "next\n",
        "-sh: nothing: is required\n",
    )
    status, _, err = sh_run(shell, "f() { f; }; f")
    assert status == 2 and err == "-sh: f: function nesting deeper than 64\n"
    assert sh_run(shell, "return 3") == (2, "", "-sh: return: not in a function\n")


def test_constructs_bashlex_cannot_build_are_refused_whole(shell: Shell) -> None:
    status, out, err = sh_run(shell, "echo before; echo $((1 + 2))")
    assert (status, out) == (
        2,
        "",
    ) and err == "-sh: not supported by vmksim's shell yet: arithmetic expansion\n"


def test_scripts_in_the_file_system_run_with_sh_or_with_a_shebang_on_esxi_8(shell: Shell) -> None:
    sh_run(
        shell,
        "echo 'echo hello $1; exit 3' > /tmp/a.sh; echo '#!/bin/ash' > /tmp/b.sh; cat /tmp/a.sh >> /tmp/b.sh",
    )
    assert sh_run(shell, "/tmp/a.sh x") == (126, "", "-sh: /tmp/a.sh: Operation not permitted\n")
    assert sh_run(shell, "sh /tmp/a.sh y; echo $?") == (0, "hello y\n3\n", "")
    assert sh_run(shell, "cd /tmp; ./b.sh z") == (3, "hello z\n", "")
    assert sh_run(shell, "./nope.sh")[0] == 127


def test_exit_status_of_a_line_and_exit(shell: Shell) -> None:
    assert sh_run(shell, "grep -q nothing /etc/vmware/esx.conf")[0] == 1
    assert sh_run(shell, "echo x; exit 3; echo never") == (3, "x\n", "")
    assert sh_run(shell, "false; exit")[0] == 1


def test_prompt_follows_the_working_directory(shell: Shell) -> None:
    assert shell.prompt == "[root@esx-lab-01:~] "
    sh_run(shell, "cd /vmfs/volumes")
    assert shell.prompt == "[root@esx-lab-01:/vmfs/volumes] "
    status, _, err = sh_run(shell, "cd /nowhere")
    assert status == 2 and "can't cd to /nowhere" in err


def test_redirection_into_a_missing_directory_fails_cleanly(shell: Shell) -> None:
    status, out, err = sh_run(shell, "echo x > /no/such/file")
    assert status == 1 and out == "" and err == "-sh: can't create /no/such/file: No such file or directory\n"


def test_ps_lists_the_kernels_worlds(shell: Shell) -> None:
    _, text, _ = sh_run(shell, "ps")
    rows = text.splitlines()[1:]
    assert [int(r.split()[0]) for r in rows] == [w.world_id for w in shell.host.esx.worlds]
    vm = shell.host.vms[0]
    vcpu_row = next(r for r in rows if int(r.split()[0]) == vm.vcpu_worlds[0]).split()
    assert vcpu_row[1] == str(vm.world_id) and vcpu_row[2] == f"vmx-vcpu-0:{vm.name}"


# --- the CLI -------------------------------------------------------------------------------------
@pytest.fixture
def scenario_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VMKSIM_ENGINE", "python")
    path = tmp_path / "lab.toml"
    path.write_text(
        'name = "lab"\nesxi = "8.0"\n[host]\nname = "esx-lab-01"\nsockets = 2\ncores_per_socket = 2\n'
        "threads_per_core = 2\nmemory_gb = 16\n[run]\nduration_s = 60\n"
        '[[vm]]\nname = "web"\nvcpus = 2\nmemory_gb = 2\n[vm.workload]\nkind = "constant"\ndemand_pct = 30\n'
        '[[vm]]\nname = "db"\nvcpus = 4\nmemory_gb = 4\n[vm.workload]\nkind = "constant"\ndemand_pct = 50\n'
    )
    return path


def test_cli_c_runs_a_pipeline_and_returns_its_status(run_cli, scenario_file: Path) -> None:
    code, out, err = run_cli(
        "shell", str(scenario_file), "--paused", "-c", 'esxcli vm process list | grep -c "World ID"'
    )
    assert (code, out, err) == (0, "2\n", "")
    code, out, err = run_cli("shell", str(scenario_file), "-c", "uname -a | cut -d' ' -f1,2; nosuch")
    assert (code, out, err) == (127, "VMkernel esx-lab-01\n", "-sh: nosuch: not found\n")


def test_cli_runs_the_kill_every_vm_script(run_cli, scenario_file: Path, tmp_path: Path) -> None:
    """The documented end-to-end script (§2.2): list WorldID,DisplayName as csv, kill each VM.

    Power-off is not simulated yet, so every kill fails with a clear line and the VMs stay listed.
    """
    script = tmp_path / "kill.sh"
    script.write_text(
        "#!/bin/ash\n"
        'for wid in $(esxcli --formatter=csv --format-param=fields=="WorldID,DisplayName" vm process list'
        " | grep -v WorldID | cut -d, -f2); do\n"
        "  esxcli vm process kill --type=force --world-id=$wid || true\n"
        "done\n"
        "esxcli vm process list | grep -c 'World ID'\n"
    )
    code, out, err = run_cli("shell", "--paused", str(scenario_file), str(script))
    assert code == 0 and out == "2\n"
    assert err.count("not simulated yet") == 2


def test_cli_errors(run_cli, scenario_file: Path, tmp_path: Path) -> None:
    code, out, err = run_cli("shell", str(tmp_path / "missing.toml"), "-c", "true")
    assert code == 1 and out == "" and err.startswith("vmksim: error: ") and len(err.splitlines()) == 1
    code, _, err = run_cli("shell", str(scenario_file), "--speed", "0", "-c", "true")
    assert code == 1 and "--speed" in err
    code, _, err = run_cli("shell", str(scenario_file), str(tmp_path / "nope.sh"))
    assert code == 1 and "nope.sh" in err


# --- the interactive prompt ----------------------------------------------------------------------
def test_completion_tree_holds_esxcli_namespaces_commands_and_options() -> None:
    tree = completion_tree()
    assert tree["esxcli"]["vm"]["process"]["kill"] == {"--type": None, "--world-id": None}
    assert "get" in tree["esxcli"]["hardware"]["cpu"]["global"]
    assert "vmsvc/getallvms" in tree["vim-cmd"] and "grep" in tree


#: Pause between typed keys: completion runs asynchronously, as it does for a person typing.
KEY_GAP_S = 0.15


@contextlib.contextmanager
def _typing(keys: list[str]) -> Iterator[object]:
    """A prompt_toolkit pipe input that a thread types *keys* into, one chunk per KEY_GAP_S."""
    from prompt_toolkit.input import create_pipe_input

    with create_pipe_input() as pipe:

        def feed() -> None:
            for chunk in keys:
                time.sleep(KEY_GAP_S)
                pipe.send_text(chunk)

        thread = threading.Thread(target=feed, daemon=True)
        thread.start()
        yield pipe
        thread.join()


def test_interactive_prompt_edits_completes_and_exits(
    shell: Shell, capsys: pytest.CaptureFixture[str]
) -> None:
    from prompt_toolkit.output import DummyOutput

    # "ech" + Tab completes to "echo"; Ctrl-C abandons a line; Ctrl-P recalls the last one
    with _typing(["ech", "\t", " hi\r", "garbage", "\x03", "\x10", "\r", "exit 5\r"]) as pipe:
        code = interact(shell, input=pipe, output=DummyOutput())
    assert code == 5
    assert capsys.readouterr().out == "hi\nhi\n"


def test_interactive_prompt_ends_on_ctrl_d_with_the_last_status(shell: Shell) -> None:
    from prompt_toolkit.output import DummyOutput

    with _typing(["false\r", "\x04"]) as pipe:
        assert interact(shell, input=pipe, output=DummyOutput()) == 1


# --- no traceback, whatever is typed -------------------------------------------------------------
#: Words and operators a session may contain (no while/until/sleep: they may legitimately not end).
TOKENS = [
    "echo", "cat", "grep", "-c", "-v", "-o", "head", "tail", "-n", "wc", "-l", "sort", "uniq", "cut", "-d,",
    "-f2", "ps", "ls", "cd", "pwd", "test", "[", "]", "=", "!", "|", "&&", "||", ";", ">", ">>", "<", "2>&1",
    "/tmp/x", "/", "/etc/vmware/esx.conf", "$(", ")", "`", "'", '"', "{", "}", "if", "then", "else", "fi",
    "for", "in", "do", "done", "f()", "return", "shift", "exit", "$?", "$1", "${x:-y}", "${x?}", "${#x}",
    "x=1", "esxcli", "vm", "process", "list", "kill", "--world-id=1", "--formatter=csv", "hardware", "cpu",
    "vim-cmd", "vmsvc/get.summary", "vmsvc/getallvms", "1", "sched-stats", "-t", "numa-clients", "vsish",
    "-e", "get", "/system/version", "esxtop", "-b", "uname", "-a", "sh", "nosuch", "\n",
]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(TOKENS), max_size=12))
def test_any_line_gives_a_status_never_a_traceback(shell: Shell, words: list[str]) -> None:
    status, _, _ = sh_run(shell, " ".join(words))
    assert isinstance(status, int) and 0 <= status <= 255


def test_cli_reads_a_script_from_standard_input_when_it_is_not_a_terminal(
    run_cli, scenario_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("x=$(uname)\necho $x\nexit 3\necho never\n"))
    assert run_cli("shell", "--paused", str(scenario_file)) == (3, "VMkernel\n", "")
