"""The system calls a skill's worker may not make (seccomp-bpf), and the privileges it drops.

Landlock (`skills/sandbox.py`) decides which files a worker reaches; this module closes
what Landlock does not cover, whatever the kernel version:

- no new processes (fork, vfork, clone without CLONE_THREAD) and no exec: a worker is one
  process with threads, so nothing it starts can outlive it;
- without the `network` permission, no socket at all (TCP, UDP, raw, netlink, and Unix
  sockets, whose paths Landlock cannot guard); `socketpair` stays, it reaches nobody;
- never: reading or writing other processes (ptrace, process_vm_readv/writev, pidfd_getfd,
  kcmp), io_uring (its operations bypass seccomp), BPF and perf events, keyrings, mounts and
  namespaces, leaving the process group (setsid, setpgid), raising resource limits, signals
  to other processes, and the administrative calls (modules, reboot, clock, swap);
- capabilities: a worker of an assistant running as root keeps uid 0 but no capability.

A refused call fails with EPERM (EACCES for sockets, as a firewall would answer); the
kernel tells nobody, so such refusals reach the log only when the action lets the error
through. Needs libseccomp (Debian's libseccomp2) and seccomp filters (Linux 3.5+).
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["ALWAYS_REFUSED", "available", "drop_capabilities", "restrict"]

CLONE_THREAD = 0x00010000

ALWAYS_REFUSED = (
    "fork", "vfork", "execve", "execveat",
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "pidfd_open", "kcmp",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "open_by_handle_at",
    "name_to_handle_at", "fsopen", "fsmount", "move_mount", "open_tree",
    "setsid", "setpgid", "setrlimit", "pidfd_send_signal", "tkill", "rt_sigqueueinfo",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
    "swapon", "swapoff", "acct", "syslog", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "sethostname", "setdomainname", "iopl", "ioperm", "quotactl", "vhangup",
)
"""Refused to every skill."""
NETWORK = ("socket",)
"""Refused without the `network` permission."""


def available() -> bool:
    """Whether libseccomp can be loaded here."""
    return _seccomp() is not None


def restrict(network: bool) -> None:
    """Load the filter into this process for good (threads started later inherit it).

    `OSError` when libseccomp is missing or the kernel refuses the filter.
    """
    seccomp = _seccomp()
    if seccomp is None:
        raise OSError(errno.ENOSYS, "libseccomp is not installed (Debian: libseccomp2)")
    refuse = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for arch in _compatible_archs(seccomp):
        try:  # 32-bit system calls on a 64-bit kernel: the same rules, not a way around them
            rules.add_arch(arch)
        except OSError:
            pass
    for name in ALWAYS_REFUSED:
        _add(rules, refuse, name)
    pid = os.getpid()
    # clone3 passes its flags in memory, out of a filter's sight: glibc falls back to clone.
    _add(rules, seccomp.ERRNO(errno.ENOSYS), "clone3")
    _add(rules, refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
    _add(rules, refuse, "prlimit64", seccomp.Arg(2, seccomp.NE, 0))  # reading limits is fine
    for call in ("kill", "tgkill", "rt_tgsigqueueinfo"):  # signals to itself only
        _add(rules, refuse, call, seccomp.Arg(0, seccomp.NE, pid), seccomp.Arg(0, seccomp.NE, 0))
    if not network:
        for name in NETWORK:
            _add(rules, seccomp.ERRNO(errno.EACCES), name)
    rules.load()


def drop_capabilities() -> bool:
    """Give up every capability, for good (for an assistant running as root); whether any were held."""
    libc = ctypes.CDLL(None, use_errno=True)
    header = _CapHeader(version=_CAPABILITY_VERSION_3, pid=0)
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        return False
    if not any(d.effective or d.permitted for d in data):
        return False
    for capability in range(64):  # the bounding set: an exec could not win any back
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 and ctypes.get_errno() == errno.EINVAL:
            break
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    cleared = (_CapData * 2)()
    if libc.capset(ctypes.byref(header), cleared) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"capset: {os.strerror(number)}")
    return True


_CAPABILITY_VERSION_3 = 0x20080522
_PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _add(rules: Any, action: int, name: str, *args: Any) -> None:
    try:
        rules.add_rule(action, name, *args)
    except (OSError, ValueError, RuntimeError):
        log.debug("no system call %s on this architecture", name)


def _compatible_archs(seccomp: Any) -> list[int]:
    arch = seccomp.Arch
    machine = os.uname().machine
    if machine == "x86_64":
        return [arch.X86, arch.X32]
    if machine == "aarch64":
        return [arch.ARM]
    return []


def _seccomp() -> Any:
    try:
        import pyseccomp
    except (ImportError, RuntimeError, OSError):  # RuntimeError: libseccomp not found
        return None
    return pyseccomp

