"""Mount-namespace and capability helpers for the sandbox's fork server (root inside its own namespaces).

The worker starts under `unshare --pid --net --mount --mount-proc` (as root, or as a user's "root" in a user
namespace) and, before any learner code runs, reshapes what its namespace sees:

    private_tmp()       /tmp, /var/tmp, /dev/shm, /run/lock: empty, read-only tmpfs (nothing shared, nothing left)
    readonly_everything() every mount read-only, so even a uid-0 process without Landlock can't change a file
    hide(path)          a folder becomes an empty read-only tmpfs, a file becomes /dev/null: the lessons folder,
                        the modules holding the answers, the report's destination, the learner's progress file
    make_reachable(...) the interpreter's folders, when under a folder others can't enter (pyenv under /root,
                        mode 700), are bound onto a fresh tmpfs there, so `nobody` can import Python without
                        `chmod o+x /root`; the rest of that folder is hidden
    tmpfs(path, ...)    the per-check working folder: capped in bytes and in files (nr_inodes)

`drop_capabilities()` is for the learner's process when it has to stay uid 0 (no `nobody`, or a user
namespace): it empties every capability set, so it can't remount, unmount or read past permissions.
Mount propagation is private (unshare's default for a new mount namespace): nothing here reaches the host.
"""

from __future__ import annotations

import ctypes
import os
import stat

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC = 32, 4096, 16384
MNT_DETACH = 2
PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 28, 47, 4
SECBIT_LOCKED_ALL = 0x2F  # NOROOT, NO_SETUID_FIXUP, KEEP_CAPS off, each locked
SYS_MOUNT_SETATTR, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = 442, -100, 0x8000, 0x1
WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock")

_libc = None


class MountError(OSError):
    pass


def _c():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def mount(source: str, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    enc = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    if _c().mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        err = ctypes.get_errno()
        raise MountError(err, f"mount {source} on {target}: {os.strerror(err)}")


def umount(target: str) -> None:
    if _c().umount2(os.fsencode(target), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        raise MountError(err, f"umount {target}: {os.strerror(err)}")


def tmpfs(target: str, size: int, inodes: int, mode: int = 0o755, uid: int = 0, gid: int = 0,
          readonly: bool = False) -> None:
    """A fresh tmpfs on `target`, at most `size` bytes and `inodes` files and folders."""
    flags = MS_NOSUID | MS_NODEV | (MS_RDONLY if readonly else 0)
    mount("tmpfs", target, "tmpfs", flags, f"size={max(size, 4096)},nr_inodes={max(inodes, 4)},mode={mode:o},uid={uid},gid={gid}")


def readonly(target: str) -> None:
    """Remount a tmpfs read-only (after the worker filled it)."""
    mount("none", target, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def bind(source: str, target: str, ro: bool = True) -> None:
    mount(source, target, None, MS_BIND | MS_REC)
    if ro:
        mount("none", target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def hide(path: str) -> bool:
    """Make `path` look empty in this namespace. False if it does not exist (or is not a file or folder)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if stat.S_ISDIR(st.st_mode):
        tmpfs(path, 4096, 4, mode=0o555, readonly=True)
        return True
    if stat.S_ISREG(st.st_mode):
        bind("/dev/null", path)
        return True
    return False


def cover(folder: str, keep: list[str] = (), layout: list[str] = (), size: int = 1 << 20) -> None:
    """An empty tmpfs over `folder` (mode 755), with `layout` folders made in it and every path in `keep`
    (inside `folder`) bound back at its own path; then read-only."""
    fds = [(r, os.open(r, os.O_PATH | os.O_CLOEXEC)) for r in keep]
    try:
        tmpfs(folder, size, 4096, mode=0o755)
        for d in layout:
            os.makedirs(d, mode=0o755, exist_ok=True)
        for r, fd in fds:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                os.makedirs(r, mode=0o755, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(r), mode=0o755, exist_ok=True)
                open(r, "ab").close()
            bind(f"/proc/self/fd/{fd}", r)
        readonly(folder)
    finally:
        for _, fd in fds:
            os.close(fd)


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip("/") + "/")


def outermost(paths: list[str]) -> list[str]:
    real = sorted(dict.fromkeys(os.path.realpath(p) for p in paths if os.path.exists(p)))
    return [r for r in real if not any(r != o and _inside(r, o) for o in real)]


def private_tmp(layout: list[str], roots: list[str]) -> list[str]:
    """Empty, read-only tmpfs over the world-writable folders (the interpreter's folders among `roots` bound
    back if one lives there); `layout` folders are created in /tmp first. Returns the folders covered."""
    covered = []
    for d in dict.fromkeys(os.path.realpath(p) for p in WORLD_WRITABLE):
        if os.path.isdir(d) and not any(_inside(d, c) for c in covered):
            cover(d, [r for r in outermost(roots) if _inside(r, d)], layout if d == "/tmp" else ())
            covered.append(d)
    return covered


def searchable(path: str) -> bool:
    try:
        return bool(os.stat(path).st_mode & 0o001)
    except OSError:
        return False


def blocking_ancestor(path: str) -> str | None:
    """The topmost folder on the way to `path` that other users can't enter (None: all can)."""
    parts = os.path.realpath(path).split("/")[1:-1]
    d = ""
    for p in parts:
        d += "/" + p
        if not searchable(d):
            return d
    return None


def make_reachable(roots: list[str]) -> list[str]:
    """Bind every root that sits under a folder others can't enter onto a tmpfs over that folder, at the same
    path (so sys.path and every loaded module's __file__ stay valid). Returns the folders so covered."""
    groups: dict[str, list[str]] = {}
    for r in outermost(roots):
        a = blocking_ancestor(r)
        if a is not None:
            groups.setdefault(a, []).append(r)
    covered = []
    for ancestor in sorted(groups, key=len):
        if any(_inside(ancestor, c) for c in covered):
            continue
        cover(ancestor, [r for a in groups if a == ancestor or _inside(a, ancestor) for r in groups[a]])
        covered.append(ancestor)
    return covered


def readonly_everything() -> None:
    """Every mount in this namespace read-only (mounts made afterwards, the per-check folders, are not)."""

    class MountAttr(ctypes.Structure):
        _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64),
                    ("userns_fd", ctypes.c_uint64)]

    attr = MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    libc = _c()
    libc.syscall.restype = ctypes.c_long
    if libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, b"/", AT_RECURSIVE, ctypes.byref(attr), ctypes.sizeof(attr)) != 0:
        err = ctypes.get_errno()
        raise MountError(err, f"mount_setattr: {os.strerror(err)}")


def drop_capabilities() -> None:
    """Empty the bounding, ambient, effective, permitted and inheritable capability sets of this process, and
    lock the securebits so uid 0 gains nothing back on exec."""
    libc = _c()
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    libc.prctl(PR_SET_SECUREBITS, SECBIT_LOCKED_ALL, 0, 0, 0)
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:  # EINVAL: past the last
            break

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        err = ctypes.get_errno()
        raise MountError(err, f"capset: {os.strerror(err)}")
