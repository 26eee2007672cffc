"""What the sandboxed interpreter runs first (`python -I -c BOOT CONFIG`): it restricts itself,
records what it managed to restrict, then runs the program from `program.py` in its folder.

Trusted code: it runs before the program is read. Every restriction is applied by the process
to itself, so the parent needs no `preexec_fn` (unsafe in threaded callers: a kernel, a server).
"""

BOOT = r'''
import errno, json, os, resource, sys, traceback
cfg = json.loads(sys.argv[1])
folder = cfg["folder"]
done = {}

def limit(name, soft, hard=None):
    kind = getattr(resource, name)
    resource.setrlimit(kind, (soft, soft if hard is None else hard))

limit("RLIMIT_AS", cfg["memory_bytes"])
limit("RLIMIT_CPU", cfg["cpu_seconds"], cfg["cpu_seconds"] + 1)
limit("RLIMIT_FSIZE", cfg["file_bytes"])
limit("RLIMIT_CORE", 0)
limit("RLIMIT_NOFILE", 256)
done["rlimits"] = {"memory_bytes": cfg["memory_bytes"], "cpu_seconds": cfg["cpu_seconds"], "file_bytes": cfg["file_bytes"]}

try:
    import pyseccomp as sc
    f = sc.SyscallFilter(sc.ALLOW)
    denied = ["fork", "vfork", "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "socket",
              "socketpair", "tkill", "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "mount", "umount2", "unshare",
              "setns", "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd", "io_uring_setup",
              "setsid", "setpgid"]
    for name in denied:
        f.add_rule(sc.ERRNO(errno.EPERM), name)
    f.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, 0x00010000, 0))  # no CLONE_THREAD: a process
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")  # its flags are behind a pointer: glibc falls back to clone
    me = os.getpid()
    f.add_rule(sc.ERRNO(errno.EPERM), "kill", sc.Arg(0, sc.NE, me))
    f.add_rule(sc.ERRNO(errno.EPERM), "tgkill", sc.Arg(0, sc.NE, me))
except Exception as exc:  # libseccomp is found (by running ldconfig) before Landlock forbids that
    f, done["seccomp"] = None, {"error": f"{type(exc).__name__}: {exc}"}


try:
    import landlock
    from landlock import FSAccess, Ruleset
    abi = landlock.landlock_abi_version()
    read = FSAccess.READ_FILE | FSAccess.READ_DIR | FSAccess.EXECUTE
    ruleset = Ruleset()
    for path in cfg["read_paths"]:
        if os.path.exists(path):
            ruleset.allow(path, rules=read if os.path.isdir(path) else FSAccess.READ_FILE | FSAccess.EXECUTE)
    ruleset.allow(folder)
    ruleset.apply()
    done["landlock"] = {"abi": abi, "read": [p for p in cfg["read_paths"] if os.path.exists(p)], "write": [folder]}
except Exception as exc:
    done["landlock"] = {"error": f"{type(exc).__name__}: {exc}"}

if f is not None:
    try:
        f.load()
        done["seccomp"] = {"denied": denied + ["clone (new processes)", "clone3", "kill/tgkill of other processes"]}
    except Exception as exc:
        done["seccomp"] = {"error": f"{type(exc).__name__}: {exc}"}

with open(os.path.join(folder, ".protections.json"), "w") as out:
    json.dump(done, out)
os.chdir(folder)
with open("program.py") as src:
    code = src.read()
sys.argv = ["program.py"]
sys.path[:0] = [folder]
namespace = {"__name__": "__main__", "__file__": "program.py", "__builtins__": __builtins__}
for _name in ("cfg", "done", "limit", "f", "me", "denied", "ruleset"):
    globals().pop(_name, None)
try:
    exec(compile(code, "program.py", "exec"), namespace)
except SystemExit:
    raise
except BaseException as exc:
    tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
    traceback.print_exception(type(exc), exc, tb)
    sys.exit(1)  # flushes what the program printed before it failed
'''
