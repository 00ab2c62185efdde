"""Confines a skill's worker process: resource limits, capabilities, Landlock, seccomp and an audit hook.

`apply` runs in the worker before any code of the skill is loaded, in this order: resource
limits (memory, CPU time, open files, no core dumps), death with the assistant
(PR_SET_PDEATHSIG), capabilities dropped, Landlock, the seccomp filter of
`skills/syscalls.py`, and the audit hook. What each guard needs of the kernel:

Landlock (Linux 5.13+, TCP rules from ABI 4, Linux 6.7) is applied by the worker to
itself and is inherited by anything it starts; it cannot be lifted afterwards. The
worker may read (and execute) the Python installation and system libraries, read its
skill folder, and read and write its data folder; nothing else of the file system.
Without the `network` permission it can neither connect nor bind TCP sockets, and from
ABI 6 it cannot reach abstract Unix sockets or signal processes outside itself.

The audit hook (`sys.addaudithook`) applies the same rules in Python first, so every
refused attempt made from Python is reported to the assistant's log by name; it is also
the only guard left on a kernel without Landlock (a warning says so). The Python
`landlock` package lacks network rules, hence the few system calls below.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import resource
import signal
import socket
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.skills import syscalls

log = logging.getLogger(__name__)

Report = Callable[[str], None]

SYSTEM_READ = (
    "/usr/lib", "/usr/lib64", "/lib", "/lib64", "/etc/ld.so.cache", "/usr/share/zoneinfo",
    "/etc/localtime", "/etc/timezone", "/var/db/zoneinfo", "/etc/sysconfig/clock", "/etc/conf.d/clock",
    "/dev/urandom", "/dev/zero", "/sys/devices/system/cpu",
)
"""Shared libraries, the local time zone (where tzlocal looks) and the few devices Python reads."""
SYSTEM_WRITE = ("/dev/null",)

# Linux UAPI (include/uapi/linux/landlock.h); the system call numbers are the same on every
# architecture that has them.
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_PDEATHSIG = 1
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_BITS_BY_ABI = {1: 13, 2: 14, 3: 15, 4: 15, 5: 16}
"""How many file-system access rights each ABI knows (REFER at 2, TRUNCATE at 3, IOCTL_DEV at 5)."""
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | (1 << 14) | (1 << 15)
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@dataclass(frozen=True)
class Confinement:
    """What one worker may reach; built in the assistant, applied in the worker."""

    skill_id: str
    workdir: str
    """The data folder: the working directory, so relative paths land there."""
    read: tuple[str, ...]
    """Folders and files it may read (and execute) beneath."""
    write: tuple[str, ...]
    """Folders and files it may read and change beneath."""
    network: bool
    filter_system_calls: bool = True
    """Load the seccomp filter (False: as where libseccomp is missing; tests only)."""

    @classmethod
    def for_skill(
        cls, skill_id: str, skill_dir: Path, data_dir: Path, permissions: Collection[str]
    ) -> Confinement:
        read = [*python_paths(), str(skill_dir.resolve()), *SYSTEM_READ]
        write = [str(data_dir.resolve()), *SYSTEM_WRITE]
        workdir = str(data_dir.resolve())
        return cls(skill_id, workdir, _existing(read), _existing(write), "network" in permissions)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Confinement:
        return cls(**{**value, "read": tuple(value["read"]), "write": tuple(value["write"])})

    def allows(self, path: str, write: bool) -> bool:
        """Whether `path` (resolved) lies beneath a root that grants the access."""
        real = os.path.realpath(path)
        roots = self.write if write else (*self.read, *self.write)
        return any(real == root or real.startswith(root.rstrip("/") + "/") for root in roots)


@dataclass(frozen=True)
class Limits:
    """What one worker may use; beyond, the kernel refuses (memory) or ends it (CPU time)."""

    memory_mb: int = 1024
    """Writable memory (RLIMIT_DATA: heap, anonymous mappings, thread stacks), mebibytes."""
    cpu_s: int = 600
    """Processor time over the worker's whole life; it is ended (SIGXCPU) past it and
    started again on the skill's next request."""
    open_files: int = 256
    parent_pid: int = 0
    """The assistant: the worker ends when it does (0: not checked)."""


def apply(confinement: Confinement | None, limits: Limits, refused: Report, warn: Report) -> list[str]:
    """Limit and confine the calling process for good; the guards in force, for the log.

    `confinement` None leaves files, system calls and privileges alone (benchmarks only).
    """
    guards = [_limit(limits)]
    if confinement is None:
        return guards
    has_seccomp = syscalls.available()  # loads libseccomp while the library can still be found
    try:
        if syscalls.drop_capabilities():
            guards.append("capabilities dropped")
    except OSError as error:
        warn(f"could not drop its capabilities ({error})")
    abi = confine(confinement, refused, warn)
    guards.append(f"landlock abi {abi}" if abi else "no landlock")
    if not confinement.filter_system_calls:
        return guards
    try:
        if not has_seccomp:
            raise OSError(errno.ENOSYS, "libseccomp is not installed (Debian: libseccomp2)")
        syscalls.restrict(confinement.network)
        guards.append("seccomp")
    except OSError as error:
        warn(f"no seccomp filter ({error}): it may start processes and open sockets that Landlock does not cover")
    return guards


def _limit(limits: Limits) -> str:
    memory = limits.memory_mb * 2**20
    for kind, value in (
        (resource.RLIMIT_DATA, memory),
        (resource.RLIMIT_CPU, limits.cpu_s),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_CORE, 0),
    ):
        _, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        # The hard CPU limit a little later: SIGXCPU first, so the end can be told apart.
        resource.setrlimit(kind, (value, value + 5 if kind == resource.RLIMIT_CPU else value))
    if limits.parent_pid and sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != limits.parent_pid:  # the assistant ended before the line above
            os._exit(1)
    return f"memory {limits.memory_mb} MiB, cpu {limits.cpu_s} s"


def python_paths() -> list[str]:
    """The interpreter's own folders, the user's site-packages in use, the other site-packages on
    the path (a venv made with `--system-site-packages`, Debian's dist-packages, one a `.pth`
    file adds), and the one holding the `assistant` package."""
    import site

    import assistant

    names = ("stdlib", "platstdlib", "purelib", "platlib")
    found = {sysconfig.get_paths()[name] for name in names}
    user_site = site.getusersitepackages()
    if user_site in sys.path:  # `pip install --user`: the dependencies may live there
        found.add(user_site)
    # The assistant's own dependencies may live there: a skill imports them lazily (tzlocal).
    found |= {p for p in sys.path if os.path.basename(p.rstrip("/")) in ("site-packages", "dist-packages")}
    found |= {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    found.add(str(Path(assistant.__file__).resolve().parent.parent))
    return sorted(found)


def _existing(paths: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(os.path.realpath(p) for p in paths if os.path.exists(p)))


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 when it has none (or it is switched off)."""
    if not sys.platform.startswith("linux"):
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    version = libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(int(version), 0)


def confine(confinement: Confinement, refused: Report, warn: Report) -> int:
    """Confine the calling process for good; returns the Landlock ABI used (0: Python checks only).

    `refused` receives one line per refused attempt; `warn` a line when the kernel cannot help.
    """
    os.chdir(confinement.workdir)
    temporary = os.path.join(confinement.workdir, "tmp")
    os.makedirs(temporary, exist_ok=True)
    os.environ["TMPDIR"] = tempfile.tempdir = temporary  # /tmp is out of reach
    sys.dont_write_bytecode = True  # the skill folder is read-only
    sys.path[:] = [p for p in sys.path if p and confinement.allows(p, write=False)]
    abi = abi_version()
    if abi == 0:
        warn("the kernel has no Landlock; only Python-level checks confine this skill")
    else:
        try:
            _landlock(confinement, abi)
        except OSError as error:
            warn(f"Landlock could not be applied ({error}); only Python-level checks confine this skill")
            abi = 0
    sys.addaudithook(_AuditGuard(confinement, refused))
    return abi


def _landlock(confinement: Confinement, abi: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fs_all = (1 << _FS_BITS_BY_ABI.get(abi, 16)) - 1
    attr = _RulesetAttr(fs=fs_all)
    size = 8
    if abi >= 4 and not confinement.network:
        attr.net, size = _NET_BIND_TCP | _NET_CONNECT_TCP, 16
    if abi >= 6:
        attr.scoped, size = _SCOPE_SIGNAL | (0 if confinement.network else _SCOPE_ABSTRACT_UNIX_SOCKET), 24
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise _os_error(ctypes.get_errno(), "landlock_create_ruleset")
    try:
        for path in confinement.read:
            _allow(libc, ruleset, path, _EXECUTE | _READ_FILE | _READ_DIR)
        for path in confinement.write:
            _allow(libc, ruleset, path, fs_all)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise _os_error(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            raise _os_error(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)


def _allow(libc: Any, ruleset: int, path: str, rights: int) -> None:
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        rule = _PathBeneath(allowed=rights, parent_fd=fd)
        if libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            raise _os_error(ctypes.get_errno(), f"landlock_add_rule {path}")
    finally:
        os.close(fd)


def _os_error(number: int, what: str) -> OSError:
    return OSError(number, f"{what}: {os.strerror(number)}")


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_WRITE_EVENTS = {
    "os.mkdir", "os.remove", "os.rmdir", "os.rename", "os.replace", "os.symlink", "os.link",
    "os.truncate", "os.chmod", "os.chown", "os.utime", "shutil.rmtree", "os.mkfifo", "os.mknod",
}


_NAME_LOOKUPS = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo"}
_PROCESS_EVENTS = {
    "os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.system", "subprocess.Popen",
    "pty.spawn",
}


class _AuditGuard:
    """Refuses (and reports) Python's file and socket operations outside the confinement."""

    def __init__(self, confinement: Confinement, report: Report):
        self.confinement = confinement
        self.report = report
        self._busy = False

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            self._check(event, args)
        finally:
            self._busy = False

    def _check(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = args
            write = any(c in (mode or "") for c in "wax+") or bool((flags or 0) & _WRITE_FLAGS)
            self._path(event, path, write)
        elif event in ("os.listdir", "os.scandir"):
            self._path(event, args[0] if args and args[0] is not None else ".", write=False)
        elif event in _WRITE_EVENTS:
            for path in args[:2] if event in ("os.rename", "os.replace", "os.link") else args[:1]:
                self._path(event, path, write=True)
        elif event == "sqlite3.connect":
            database = str(args[0])
            if database not in ("", ":memory:") and not database.startswith("file:"):
                self._path(event, database, write=True)
        elif event == "socket.__new__":
            family = args[1]
            if not self.confinement.network and family != socket.AF_UNIX:
                self._refuse(f"a network socket (address family {family}); it did not declare network")
        elif event in ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"):
            self._socket(event, args)
        elif event in _NAME_LOOKUPS and not self.confinement.network:
            self._refuse(f"{event} {args[0]!r}: a name lookup; it did not declare network")
        elif event in _PROCESS_EVENTS:
            self._refuse(f"{event}: a skill runs no other program and starts no process")
        elif event in ("os.kill", "os.killpg") and args[0] not in (0, os.getpid()):
            self._refuse(f"{event} {args[0]}: a signal to another process")
        elif event in ("resource.setrlimit", "resource.prlimit") and len(args) > 1 and args[-1] is not None:
            self._refuse(f"{event}: its resource limits are set by the assistant")

    def _path(self, event: str, path: Any, write: bool) -> None:
        if isinstance(path, int):
            return  # an already open descriptor: opening it was checked
        text = os.fsdecode(path)
        if not write and not os.path.lexists(text):
            return  # the kernel answers "no such file" before any access check, and so does this
        if not self.confinement.allows(text, write):
            access = "writing" if write else "reading"
            self._refuse(f"{event} {text} for {access}: outside its folders", text)

    def _socket(self, event: str, args: tuple[Any, ...]) -> None:
        sock, address = args[0], args[-1]
        if self.confinement.network or getattr(sock, "family", None) != socket.AF_UNIX:
            return
        if isinstance(address, (str, bytes)) and not os.fsdecode(address).startswith("\0"):
            self._path(event, address, write=True)
        elif address is not None:
            self._refuse(f"{event} to an abstract Unix socket; it did not declare network")

    def _refuse(self, what: str, path: str | None = None) -> None:
        self.report(what)
        raise PermissionError(errno.EACCES, f"refused by the skill sandbox: {what}", path)
