"""Landlock (Linux 5.13+): the kernel's file-access allowlist for the learner's process, via a few ctypes calls.

A process that calls `restrict(rules)` can from then on open, list, execute or write only what `rules` allow,
whatever path, `dir_fd`, deleted working folder or C library it uses: the check is the kernel's, on the
resolved inode. It can't be undone, is inherited by children, and also forbids mounting, ptrace of processes
outside the sandbox and (ABI 6+) signals to them and connections to their abstract UNIX sockets. Needs no
privilege. Kernel documentation: https://docs.kernel.org/userspace-api/landlock.html

    rules = [Rule(fd_of("/usr"), READ), Rule(fd_of(workdir), WRITE | READ)]
    restrict(rules)          # raises LandlockError if the kernel refuses

`abi()` is 0 where Landlock is missing (old kernel, not in the LSM list, seccomp filters); the grader then says
so in the report and relies on its other layers.
"""

from __future__ import annotations

import ctypes
import os
import platform
import stat
from dataclasses import dataclass

# syscall numbers: the same on every architecture for these new syscalls (x86_64, aarch64, riscv64, ...)
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1 << 0
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

# filesystem access rights, with the ABI version that introduced each
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR, MAKE_REG = 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8
MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3, 5
FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

READ = READ_FILE | READ_DIR | EXECUTE
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the only rights a rule on a file may hold
WRITE = (1 << 16) - 1  # everything, inside a folder the learner owns


class LandlockError(OSError):
    pass


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@dataclass(frozen=True)
class Rule:
    fd: int  # an O_PATH descriptor of the file or folder (the rule covers everything beneath a folder)
    access: int
    is_dir: bool = True


_libc = None


def _syscall():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    return _libc


def abi() -> int:
    """The Landlock ABI version this kernel offers (0: none). Linux only."""
    if platform.system() != "Linux" or os.environ.get("COURSE_SANDBOX_NO_LANDLOCK") == "1":
        return 0
    try:
        v = _syscall().syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(int(v), 0)


def fd_of(path: str) -> tuple[int, bool]:
    """An O_PATH descriptor for a rule (following links: a rule is on what the path names)."""
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    return fd, stat.S_ISDIR(os.fstat(fd).st_mode)


def restrict(rules: list[Rule], version: int | None = None) -> int:
    """Allow only what `rules` say, from now on, for this process and its children. Returns the ABI used."""
    version = abi() if version is None else version
    if version < 1:
        raise LandlockError("Landlock is not available")
    libc = _syscall()
    handled = FS_BY_ABI.get(version, FS_BY_ABI[5])
    attr = _RulesetAttr(handled, NET_BIND_TCP | NET_CONNECT_TCP if version >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if version >= 6 else 0)
    size = 8 if version < 4 else 16 if version < 6 else 24
    ruleset = libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise LandlockError(ctypes.get_errno(), f"landlock_create_ruleset: {os.strerror(ctypes.get_errno())}")
    try:
        for rule in rules:
            access = rule.access & handled & (WRITE if rule.is_dir else FILE_RIGHTS)
            if not access:
                continue
            beneath = _PathBeneathAttr(access, rule.fd)
            if libc.syscall(SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(beneath),
                            ctypes.c_uint32(0)) < 0:
                err = ctypes.get_errno()
                raise LandlockError(err, f"landlock_add_rule: {os.strerror(err)}")
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            err = ctypes.get_errno()
            raise LandlockError(err, f"prctl(NO_NEW_PRIVS): {os.strerror(err)}")
        if libc.syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
            err = ctypes.get_errno()
            raise LandlockError(err, f"landlock_restrict_self: {os.strerror(err)}")
    finally:
        os.close(ruleset)
    return version


def split_around(roots: list[str], denied: list[str]) -> list[tuple[str, int]]:
    """Read rules for `roots` that leave out `denied` (Landlock rules only add, so a root holding a denied path
    is replaced by its listing right plus a rule per other entry, recursively). Returns (path, access) pairs."""
    denied = [os.path.realpath(d) for d in denied]
    out: list[tuple[str, int]] = []

    def under(p: str, r: str) -> bool:
        return p == r or p.startswith(r.rstrip("/") + "/")

    def visit(root: str, depth: int) -> None:
        if any(under(root, d) for d in denied):
            return
        inside = [d for d in denied if under(d, root)]
        if not inside or depth > 12 or not os.path.isdir(root):
            out.append((root, READ))
            return
        out.append((root, READ_DIR))  # names only: the files beneath get their own rules
        try:
            entries = sorted(os.scandir(root), key=lambda e: e.name)
        except OSError:
            return
        for e in entries:
            visit(os.path.realpath(e.path), depth + 1)

    for r in dict.fromkeys(os.path.realpath(r) for r in roots):
        if os.path.exists(r):
            visit(r, 0)
    return out
