"""Run a command under the unit's syscall filter and MemoryDenyWriteExecute, without systemd.

    python -m tests.sandbox ALLOWED_SYSCALLS_FILE AF_UNIX,AF_INET,... -- COMMAND...

The same kernel mechanisms systemd uses: a seccomp allow-list built with libseccomp
(the library systemd links), calls outside it failing with EPERM as
SystemCallErrorNumber=EPERM makes them, native architecture only; socket() allowed
only for the listed address families, as RestrictAddressFamilies= does; and the
kernel's PR_SET_MDWE, which refuses writable+executable mappings as
MemoryDenyWriteExecute= does. All survive execve, so COMMAND runs confined from its
first instruction.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import socket
import subprocess
import sys

PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_ERRNO = 0x00050000
SCMP_CMP_EQ = 4


class ArgCmp(ctypes.Structure):
    """libseccomp's struct scmp_arg_cmp."""

    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def libseccomp() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("seccomp")
    if name is None:
        return None
    lib = ctypes.CDLL(name, use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(ArgCmp)]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    return lib


def mdwe_supported() -> bool:
    """Whether this kernel has PR_SET_MDWE (Linux 6.3+); asked in a child so we stay free."""
    probe = ("import ctypes; libc = ctypes.CDLL(None); "
             f"raise SystemExit(0 if libc.prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0) == 0 else 1)")
    return subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0


def syscall_groups(listing: str) -> dict[str, list[str]]:
    """`systemd-analyze syscall-filter` output -> group name -> its members (calls or @groups)."""
    groups: dict[str, list[str]] = {}
    current: list[str] = []
    for line in listing.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif line.startswith("    ") and not line.strip().startswith("#") and line.strip():
            current.append(line.strip())
    return groups


def expand(groups: dict[str, list[str]], name: str) -> set[str]:
    calls: set[str] = set()
    for member in groups.get(name, []):
        calls |= expand(groups, member) if member.startswith("@") else {member}
    return calls


def confine(allowed: list[str], families: list[str]) -> None:
    lib = libseccomp()
    if lib is None:
        raise SystemExit("libseccomp is not installed")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        raise SystemExit(f"PR_SET_MDWE failed: {os.strerror(ctypes.get_errno())}")
    ctx = lib.seccomp_init(SCMP_ACT_ERRNO | errno.EPERM)
    for name in allowed:
        if name == "socket":
            continue  # only for the allowed families, below
        number = lib.seccomp_syscall_resolve_name(name.encode())
        if number < 0:
            continue  # a call of another architecture (e.g. mmap2 on x86-64)
        if lib.seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 0) != 0:
            raise SystemExit(f"seccomp_rule_add({name}) failed")
    socket_nr = lib.seccomp_syscall_resolve_name(b"socket")
    for family in families:
        first_arg_is = ArgCmp(0, SCMP_CMP_EQ, getattr(socket, family), 0)
        if lib.seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, socket_nr, 1, ctypes.byref(first_arg_is)) != 0:
            raise SystemExit(f"seccomp_rule_add_array(socket, {family}) failed")
    if lib.seccomp_load(ctx) != 0:
        raise SystemExit("seccomp_load failed")


def main() -> None:
    allowed_file, families, separator, *command = sys.argv[1:]
    assert separator == "--", "usage: python -m tests.sandbox ALLOWED_FILE FAMILIES -- COMMAND..."
    with open(allowed_file, encoding="utf-8") as handle:
        allowed = handle.read().split()
    confine(allowed, families.split(","))
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
