"""The seccomp filter the runner installs on itself before the program's first line.

Classic BPF, written here in Python so no libseccomp is needed. It refuses (EPERM):
process creation (fork, vfork, clone without CLONE_THREAD, execve), sockets other than
Unix ones, namespaces and mounts, ptrace and every other way to act on another process
(pidfd_open/pidfd_getfd, process_vm_readv/writev, process_madvise, kcmp), memory that
RLIMIT_AS does not count (memfd_create, memfd_secret, System V shared memory, semaphores
and message queues, POSIX message queues), bpf, perf_event_open, userfaultfd, keyrings
and io_uring. It also refuses prctl(PR_SET_PDEATHSIG): the program must not cancel the
signal that kills it when bwrap dies. A foreign ABI (x32, i386 via int 0x80) kills the
process.
"""

from __future__ import annotations

import platform
import struct

from ..errors import SandboxUnavailable

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
# Syscall numbers: arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/unistd.h.
_SYSCALLS = {
    "x86_64": {
        "shmget": 29,
        "shmat": 30,
        "shmctl": 31,
        "socket": 41,
        "clone": 56,
        "fork": 57,
        "vfork": 58,
        "execve": 59,
        "semget": 64,
        "semop": 65,
        "semctl": 66,
        "shmdt": 67,
        "msgget": 68,
        "msgsnd": 69,
        "msgrcv": 70,
        "msgctl": 71,
        "ptrace": 101,
        "pivot_root": 155,
        "prctl": 157,
        "chroot": 161,
        "mount": 165,
        "umount2": 166,
        "semtimedop": 220,
        "mq_open": 240,
        "add_key": 248,
        "request_key": 249,
        "keyctl": 250,
        "unshare": 272,
        "perf_event_open": 298,
        "setns": 308,
        "process_vm_readv": 310,
        "process_vm_writev": 311,
        "kcmp": 312,
        "memfd_create": 319,
        "bpf": 321,
        "execveat": 322,
        "userfaultfd": 323,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
        "pidfd_open": 434,
        "clone3": 435,
        "pidfd_getfd": 438,
        "process_madvise": 440,
        "memfd_secret": 447,
    },
    "aarch64": {
        "umount2": 39,
        "mount": 40,
        "pivot_root": 41,
        "chroot": 51,
        "unshare": 97,
        "ptrace": 117,
        "prctl": 167,
        "mq_open": 180,
        "msgget": 186,
        "msgctl": 187,
        "msgrcv": 188,
        "msgsnd": 189,
        "semget": 190,
        "semctl": 191,
        "semtimedop": 192,
        "semop": 193,
        "shmget": 194,
        "shmctl": 195,
        "shmat": 196,
        "shmdt": 197,
        "socket": 198,
        "add_key": 217,
        "request_key": 218,
        "keyctl": 219,
        "clone": 220,
        "execve": 221,
        "perf_event_open": 241,
        "setns": 268,
        "process_vm_readv": 270,
        "process_vm_writev": 271,
        "kcmp": 272,
        "memfd_create": 279,
        "bpf": 280,
        "execveat": 281,
        "userfaultfd": 282,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
        "pidfd_open": 434,
        "clone3": 435,
        "pidfd_getfd": 438,
        "process_madvise": 440,
        "memfd_secret": 447,
    },
}
DENIED = (
    # new processes and programs (aarch64 has no fork or vfork: clone covers them)
    "fork",
    "vfork",
    "execve",
    "execveat",
    # other processes: the sandbox must not act through one that has no filter
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "process_madvise",
    "pidfd_open",
    "pidfd_getfd",
    "kcmp",
    # namespaces and mounts
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    # memory outside RLIMIT_AS: anonymous files and System V / POSIX IPC
    "memfd_create",
    "memfd_secret",
    "shmget",
    "shmat",
    "shmctl",
    "shmdt",
    "semget",
    "semop",
    "semctl",
    "semtimedop",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "mq_open",
    # kernel interfaces with a history of exploits
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
)
_EPERM, _ENOSYS = 1, 38
_CLONE_THREAD = 0x00010000
_PR_SET_PDEATHSIG = 1
_AF_UNIX = 1
_RET_ALLOW, _RET_KILL, _RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
_LD_ABS_W, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06


def syscall_number(name: str, machine: str | None = None) -> int:
    """The number of a syscall the filter knows, for this (or the named) architecture."""
    return _SYSCALLS[machine or platform.machine()][name]


def seccomp_filter(machine: str | None = None) -> bytes:
    """The classic-BPF program the runner installs, for this (or the named) architecture."""
    machine = machine or platform.machine()
    if machine not in _SYSCALLS:
        raise SandboxUnavailable(f"no seccomp syscall table for architecture {machine}")
    table = _SYSCALLS[machine]
    code: list[tuple[int, int | str, int | str, int]] = [
        (_LD_ABS_W, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 0, "kill", _AUDIT_ARCH[machine]),
        (_LD_ABS_W, 0, 0, 0),  # seccomp_data.nr
    ]
    if machine == "x86_64":  # the x32 ABI reuses numbers with bit 30 set
        code.append((_JGE, "kill", 0, 0x40000000))
    code += [(_JEQ, "eperm", 0, table[name]) for name in DENIED if name in table]
    code += [
        # clone3 passes its flags in memory, which BPF cannot read: ENOSYS makes glibc
        # fall back to clone, whose flags we can check.
        (_JEQ, "enosys", 0, table["clone3"]),
        (_JEQ, "clone", 0, table["clone"]),
        (_JEQ, "socket", 0, table["socket"]),
        (_JEQ, "prctl", 0, table["prctl"]),
        (_RET, 0, 0, _RET_ALLOW),
    ]
    labels = {"clone": len(code)}
    code += [(_LD_ABS_W, 0, 0, 16), (_JSET, "allow", "eperm", _CLONE_THREAD)]  # args[0]
    labels["socket"] = len(code)
    code += [(_LD_ABS_W, 0, 0, 16), (_JEQ, "allow", "eperm", _AF_UNIX)]
    labels["prctl"] = len(code)
    code += [(_LD_ABS_W, 0, 0, 16), (_JEQ, "eperm", "allow", _PR_SET_PDEATHSIG)]
    for name, value in (
        ("allow", _RET_ALLOW),
        ("kill", _RET_KILL),
        ("eperm", _RET_ERRNO | _EPERM),
        ("enosys", _RET_ERRNO | _ENOSYS),
    ):
        labels[name] = len(code)
        code.append((_RET, 0, 0, value))

    def offset(target: int | str, at: int) -> int:
        return target if isinstance(target, int) else labels[target] - at - 1

    return b"".join(
        struct.pack("=HBBI", op, offset(jt, i), offset(jf, i), k)
        for i, (op, jt, jf, k) in enumerate(code)
    )
