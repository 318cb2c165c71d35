#!/usr/bin/env python3
"""play vs ansible-core vs ansible-core + Mitogen on real sshd hosts.

Run through bench/run.sh (see bench/README.md). Standard library only. Needs root.

What it does:
  1. cargo build --release --bins (play, and play-agent: the program uploaded to the targets);
  2. makes bench/.venv-mitogen with mitogen==0.3.54 (its strategy plugin is loaded into the
     oracle's ansible-core, /work/main/.venv, by strategy_plugins = ...);
  3. starts sshd hosts on 127.0.0.2, 127.0.0.3, ... port 2222, each with its own host key,
     one client key made for the run and a known_hosts written for the run;
  4. writes the inventories, ansible.cfg files and playbooks for the cases
       a: BENCH_HOSTS hosts x BENCH_TASKS tasks (cold: fresh target directories)
       b: the same play again when nothing changes
       c: 1 host x BENCH_LONG_TASKS tasks
       d: BENCH_WIDE_HOSTS hosts x BENCH_WIDE_TASKS tasks
  5. runs each case with play, ansible-playbook and ansible-playbook + mitogen_linear, each
     run under a measuring child process that is a child subreaper, so the CPU time of every
     process the tool starts (ansible's forks, ssh and its ControlPersist masters, Mitogen's
     mux) is counted once those processes are reaped;
  6. prints wall time, controller CPU (user+sys), max RSS of the largest controller process,
     the peak of the summed PSS of the controller's process tree, and the ratios.
Every sshd (and everything it started) is stopped by PID when the script ends, however it ends.
"""

import ctypes
import json
import os
import re
import resource
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SSHD = "/usr/sbin/sshd"
ORACLE_VENV = os.path.join(ROOT, ".venv")
MITOGEN_VENV = os.path.join(HERE, ".venv-mitogen")
MITOGEN_VERSION = "0.3.54"
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# processes


def proc_parents():
    """{pid: ppid} for every process, from /proc."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat.rsplit(b")", 1)[-1].split()
        if len(rest) > 1:
            out[int(name)] = int(rest[1])
    return out


def descendants(root, parents=None):
    parents = parents if parents is not None else proc_parents()
    children = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    out, frontier = [], [root]
    while frontier:
        for c in children.get(frontier.pop(), []):
            out.append(c)
            frontier.append(c)
    return out


def kill_tree(pid, sig=signal.SIGKILL):
    """Signal pid and everything below it, children first."""
    for p in reversed(descendants(pid)):
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reap_orphans(keep):
    """Reap the exited processes reparented to us (we are their subreaper), but not `keep`:
    a zombie still counts as running for init scripts (start-stop-daemon --stop --retry)."""
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or info.si_pid == keep:
            return
        try:
            os.waitpid(info.si_pid, 0)
        except ChildProcessError:
            return


def measure_main(argv):
    """`bench.py --measure OUT.json TIMEOUT LOG -- CMD...`: run CMD as a subreaper, report."""
    out_json, timeout, log_path = argv[0], float(argv[1]), argv[2]
    cmd = argv[4:]
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    me = os.getpid()
    with open(log_path, "wb") as logf:
        t0 = time.monotonic()
        child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        # Readable when the child exits: the wall time is its exit, not the next sample.
        exited = os.pidfd_open(child.pid)
        peak_pss, rc, timed_out = 0, None, False
        while True:
            reap_orphans(child.pid)
            rc = child.poll()
            if rc is not None:
                break
            elapsed = time.monotonic() - t0
            if elapsed > timeout:
                timed_out = True
                kill_tree(child.pid)
                rc = child.wait()
                break
            pss = sum(pss_kb(p) for p in descendants(me))
            peak_pss = max(peak_pss, pss)
            # Sampled often while a run is short (a peak of a run of a second is not
            # missed), less often later (sampling dozens of processes costs CPU).
            select.select([exited], [], [], 0.02 if elapsed < 3 else 0.2)
        wall = time.monotonic() - t0
        os.close(exited)
    # What the tool left running (ansible's ControlPersist ssh masters, reparented to us):
    # stop it, then reap everything so its CPU time is counted.
    left = descendants(me)
    # Services a deployment starts are what it is for: leave them to run when asked (their
    # CPU time is then not counted).
    leave = os.environ.get("BENCH_LEAVE_RUNNING") == "1"
    if leave:
        left = []
    for p in left:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            if leave:
                break
            if time.monotonic() > deadline:
                for p in descendants(me):
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            time.sleep(0.05)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out_json, "w") as f:
        json.dump({
            "rc": rc, "timed_out": timed_out, "wall": wall,
            "user": ru.ru_utime, "sys": ru.ru_stime, "cpu": ru.ru_utime + ru.ru_stime,
            "maxrss_kb": ru.ru_maxrss, "peak_pss_kb": peak_pss, "leftover": len(left),
        }, f)
    return 0


# ---------------------------------------------------------------------------------------
# setup


def run(cmd, **kw):
    log("$ " + " ".join(shlex.quote(c) for c in cmd))
    subprocess.run(cmd, check=True, **kw)


def ensure_sshd():
    if not os.path.exists(SSHD):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "update", "-qq"], env=env)
        run(["apt-get", "install", "-y", "-qq", "openssh-server", "openssh-client"], env=env)
    os.makedirs("/run/sshd", exist_ok=True)


def ensure_mitogen():
    """bench/.venv-mitogen with mitogen from PyPI; returns its strategy plugin directory."""
    py = os.path.join(ORACLE_VENV, "bin", "python")
    ver = subprocess.run([py, "-c", "import sys; print('python%d.%d' % sys.version_info[:2])"],
                         check=True, capture_output=True, text=True).stdout.strip()
    strat = os.path.join(MITOGEN_VENV, "lib", ver, "site-packages", "ansible_mitogen", "plugins", "strategy")
    vpip = os.path.join(MITOGEN_VENV, "bin", "pip")
    have = subprocess.run([vpip, "show", "mitogen"], capture_output=True, text=True).stdout \
        if os.path.exists(vpip) else ""
    if f"Version: {MITOGEN_VERSION}" not in have or not os.path.isdir(strat):
        # Same Python as the oracle's venv: the plugin is imported into that interpreter.
        run([py, "-m", "venv", MITOGEN_VENV])
        run([vpip, "install", "--quiet", "--disable-pip-version-check", f"mitogen=={MITOGEN_VERSION}"])
    if not os.path.exists(os.path.join(strat, "mitogen_linear.py")):
        sys.exit(f"bench: no mitogen_linear strategy under {strat}")
    return strat


def keygen(path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "play-bench", "-f", path],
                   check=True)


def port_free(addr, port):
    s = socket.socket()
    try:
        s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


# The targets log in as this user, made for the run (a system user whose shell is /bin/sh,
# with no rc files): root's shell on a build machine may start slow things on every SSH
# command (here root's .bashrc runs `pyenv init`, about 90 ms), which would be timed too,
# and would weigh on ansible-core, which runs a command per task, far more than on play
# or Mitogen, which start one process per host.
TARGET_USER = "playbench"


class TargetUser:
    def __init__(self, work):
        self.home = os.path.join(work, "home")
        self.made = False

    def create(self):
        try:
            import pwd
            pwd.getpwnam(TARGET_USER)
            sys.exit(f"bench: user {TARGET_USER} exists already (another bench run? if none is "
                     f"running, `userdel {TARGET_USER}`)")
        except KeyError:
            pass
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", self.home,
                        "--shell", "/bin/sh", TARGET_USER], check=True)
        self.made = True
        # Not locked ("!" would make sshd refuse it with UsePAM no), and no password.
        subprocess.run(["usermod", "-p", "*", TARGET_USER], check=True)

    def own(self, *paths):
        for path in paths:
            os.makedirs(path, exist_ok=True)
            shutil.chown(path, TARGET_USER, TARGET_USER)

    def remove(self):
        if self.made:
            subprocess.run(["userdel", TARGET_USER], check=False)
            self.made = False


def preexec_sshd():
    os.setpgid(0, 0)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Fleet:
    def __init__(self, work, port):
        self.work, self.port = work, port
        self.hosts = []  # (name, addr, Popen, pidfile)
        self.client_key = os.path.join(work, "id_ed25519")
        self.known_hosts = os.path.join(work, "known_hosts")
        self.skipped = []

    def start(self, n):
        keygen(self.client_key)
        shutil.copy(self.client_key + ".pub", os.path.join(self.work, "authorized_keys"))
        octet, kh = 2, []
        while len(self.hosts) < n:
            if octet > 254:
                sys.exit("bench: ran out of loopback addresses")
            addr = f"127.0.0.{octet}"
            octet += 1
            if not port_free(addr, self.port):
                self.skipped.append(addr)  # another engineer's or a test's sshd
                continue
            d = os.path.join(self.work, "hosts", addr)
            os.makedirs(d)
            hk = os.path.join(d, "ssh_host_ed25519_key")
            keygen(hk)
            pidfile = os.path.join(d, "sshd.pid")
            cfg = os.path.join(d, "sshd_config")
            with open(cfg, "w") as f:
                f.write(
                    f"ListenAddress {addr}:{self.port}\nHostKey {hk}\nPidFile {pidfile}\n"
                    f"AuthorizedKeysFile {self.work}/authorized_keys\n"
                    "StrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n"
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                    "LogLevel ERROR\nMaxStartups 200\nMaxSessions 200\nUseDNS no\n"
                    "Subsystem sftp internal-sftp\n")
            errlog = open(os.path.join(d, "sshd.log"), "wb")
            p = subprocess.Popen([SSHD, "-D", "-e", "-f", cfg], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=errlog, preexec_fn=preexec_sshd)
            name = f"h{len(self.hosts) + 1:02d}"
            self.hosts.append((name, addr, p, pidfile))
            with open(hk + ".pub") as f:
                kh.append(f"[{addr}]:{self.port} " + " ".join(f.read().split()[:2]))
        with open(self.known_hosts, "w") as f:
            f.write("\n".join(kh) + "\n")
        # Wait until every one listens.
        deadline = time.monotonic() + 20
        for name, addr, p, _ in self.hosts:
            while True:
                if p.poll() is not None:
                    with open(os.path.join(self.work, "hosts", addr, "sshd.log")) as f:
                        sys.exit(f"bench: sshd on {addr} exited: {f.read()}")
                try:
                    socket.create_connection((addr, self.port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        sys.exit(f"bench: sshd on {addr} does not listen")
                    time.sleep(0.05)
        if self.skipped:
            log(f"port {self.port} busy on {', '.join(self.skipped)}: skipped those addresses")
        log(f"{len(self.hosts)} sshd hosts: {self.hosts[0][1]} .. {self.hosts[-1][1]} port {self.port}")

    def stop(self):
        for _, _, p, pidfile in self.hosts:
            pids = {p.pid}
            try:
                with open(pidfile) as f:
                    pids.add(int(f.read().strip()))
            except (OSError, ValueError):
                pass
            for pid in pids:
                kill_tree(pid)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.hosts = []


# ---------------------------------------------------------------------------------------
# inputs


TEMPLATE = """# written by the play bench
host={{ inventory_hostname }}
index={{ idx }}
{% for i in range(5) %}
line {{ i }} of {{ idx }}
{% endfor %}
"""


def task_yaml(i):
    """Task i of the mix: command, copy (content), file, lineinfile, template."""
    kind = i % 5
    if i == 0:
        return ("  - name: t000 the host's directory\n"
                "    file:\n      path: \"{{ bench_root }}\"\n      state: directory\n      mode: \"0755\"\n")
    if kind == 1:
        return (f"  - name: t{i:03d} command\n"
                f"    command: echo {i}\n    changed_when: false\n")
    if kind == 2:
        return (f"  - name: t{i:03d} copy\n    copy:\n"
                f"      content: \"copy {i} on {{{{ inventory_hostname }}}}\\n\"\n"
                f"      dest: \"{{{{ bench_root }}}}/copy{i}.txt\"\n      mode: \"0644\"\n")
    if kind == 3:
        return (f"  - name: t{i:03d} file\n    file:\n"
                f"      path: \"{{{{ bench_root }}}}/dir{i}\"\n      state: directory\n      mode: \"0755\"\n")
    if kind == 4:
        return (f"  - name: t{i:03d} lineinfile\n    lineinfile:\n"
                f"      path: \"{{{{ bench_root }}}}/lines.txt\"\n      line: \"entry {i}\"\n"
                f"      create: true\n      mode: \"0644\"\n")
    return (f"  - name: t{i:03d} template\n    template:\n"
            f"      src: bench.j2\n      dest: \"{{{{ bench_root }}}}/tmpl{i}.conf\"\n      mode: \"0644\"\n"
            f"    vars:\n      idx: {i}\n")


def write_playbook(path, ntasks):
    with open(path, "w") as f:
        f.write("- hosts: all\n  gather_facts: false\n  vars:\n"
                "    bench_root: \"{{ bench_dest }}/{{ inventory_hostname }}\"\n  tasks:\n")
        for i in range(ntasks):
            f.write(task_yaml(i))


def write_inventory(path, fleet, nhosts, remote_tmp):
    with open(path, "w") as f:
        f.write("[bench]\n")
        for name, addr, _, _ in fleet.hosts[:nhosts]:
            # Every host gets its own remote_tmp: they share one filesystem here, and a real
            # host does not find the agent another host uploaded.
            f.write(f"{name} ansible_host={addr} ansible_port={fleet.port} "
                    f"ansible_remote_tmp={remote_tmp}/{name}\n")
        f.write(f"\n[all:vars]\nansible_user={TARGET_USER}\n"
                f"ansible_ssh_private_key_file={fleet.client_key}\n"
                f"ansible_ssh_common_args='-o UserKnownHostsFile={fleet.known_hosts}'\n")


def write_cfg(path, forks, cp_dir, mitogen_strategy=None):
    with open(path, "w") as f:
        f.write("[defaults]\n"
                f"forks = {forks}\n"
                "gathering = explicit\n"
                "host_key_checking = True\n"
                "retry_files_enabled = False\n"
                "interpreter_python = /usr/bin/python3\n")
        if mitogen_strategy:
            f.write(f"strategy_plugins = {mitogen_strategy}\nstrategy = mitogen_linear\n")
        f.write("\n[ssh_connection]\n"
                "pipelining = True\n"
                "ssh_args = -o ControlMaster=auto -o ControlPersist=60s\n"
                f"control_path_dir = {cp_dir}\n")


# ---------------------------------------------------------------------------------------
# running


RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def recap(log_path):
    with open(log_path, errors="replace") as f:
        text = f.read()
    hosts = {}
    for m in RECAP.finditer(text):
        hosts[m.group(1)] = tuple(int(x) for x in m.groups()[1:])
    return hosts


def measure(cmd, env, log_path, timeout):
    out = log_path + ".json"
    full = [sys.executable, os.path.abspath(__file__), "--measure", out, str(timeout), log_path, "--"] + cmd
    subprocess.run(full, env=env, check=True)
    with open(out) as f:
        return json.load(f)


def main():
    if os.geteuid() != 0:
        sys.exit("bench: needs root (sshd must switch users)")
    hosts = env_int("BENCH_HOSTS", 10)
    tasks = env_int("BENCH_TASKS", 50)
    long_tasks = env_int("BENCH_LONG_TASKS", 10 * tasks)
    wide_hosts = env_int("BENCH_WIDE_HOSTS", 5 * hosts)
    wide_tasks = env_int("BENCH_WIDE_TASKS", max(1, tasks // 5))
    port = env_int("BENCH_PORT", 2222)
    timeout = env_int("BENCH_TIMEOUT", 1800)
    cases = os.environ.get("BENCH_CASES", "a b c d").split()
    tools = os.environ.get("BENCH_TOOLS", "play ansible mitogen").split()
    keep = os.environ.get("BENCH_KEEP") == "1"
    for c in cases:
        if c not in "abcd" or len(c) != 1:
            sys.exit(f"bench: unknown case {c!r} (a b c d)")
    for t in tools:
        if t not in ("play", "ansible", "mitogen"):
            sys.exit(f"bench: unknown tool {t!r} (play ansible mitogen)")

    # Orphans of anything this script starts (sshd sessions) come back to it, to be stopped.
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    ansible_playbook = os.path.join(ORACLE_VENV, "bin", "ansible-playbook")
    if ("ansible" in tools or "mitogen" in tools) and not os.access(ansible_playbook, os.X_OK):
        sys.exit(f"bench: no oracle at {ansible_playbook}; run scripts/venv.sh")
    # BENCH_PLAY_BIN: another build of play (a profiling one); its play-agent beside it.
    play_bin = os.environ.get("BENCH_PLAY_BIN") or os.path.join(ROOT, "target", "release", "play")
    if "play" in tools and os.environ.get("BENCH_NO_BUILD") != "1":
        run(["cargo", "build", "--release", "--bins"], cwd=ROOT)
    strat = ensure_mitogen() if "mitogen" in tools else None
    ensure_sshd()

    # (case, hosts, tasks)
    spec = {"a": (hosts, tasks), "b": (hosts, tasks), "c": (1, long_tasks), "d": (wide_hosts, wide_tasks)}
    need_hosts = max(spec[c][0] for c in cases)

    work = tempfile.mkdtemp(prefix="play-bench-")
    os.chmod(work, 0o755)
    fleet = Fleet(work, port)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    results = []
    user = TargetUser(work)
    try:
        user.create()
        # What the targets write: the play's files, remote_tmp (the agent, Ansible's
        # module files), the user's home.
        user.own(user.home, os.path.join(work, "dest"), os.path.join(work, "rt"))
        fleet.start(need_hosts)
        with open(os.path.join(work, "bench.j2"), "w") as f:
            f.write(TEMPLATE)
        env = dict(os.environ, ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3", ANSIBLE_NOCOLOR="1",
                   ANSIBLE_DEPRECATION_WARNINGS="False")
        env.pop("ANSIBLE_CONFIG", None)
        load_before = os.getloadavg()
        started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        order = [c for c in "abcd" if c in cases]
        if "b" in order and "a" not in order:
            order.insert(0, "a")  # b re-runs a: a is run first, and not reported
        for case in order:
            nh, nt = spec[case]
            key = "a" if case == "b" else case
            pb = os.path.join(work, f"case-{key}.yml")
            inv = os.path.join(work, f"inventory-{key}.ini")
            if case != "b":
                write_playbook(pb, nt)
                write_inventory(inv, fleet, nh, os.path.join(work, "rt", key))
                # ansible_remote_tmp is <work>/rt/<case>/<host>; each tool gets its own
                # copy of that tree (moved aside below), so b finds what a left behind.
            for tool in tools:
                dest = os.path.join(work, "dest", f"{key}-{tool}")
                rt, rt_tool = os.path.join(work, "rt", key), os.path.join(work, "rt-saved", f"{key}-{tool}")
                shutil.rmtree(rt, ignore_errors=True)
                if case != "b":
                    # cold: nothing on the targets (play uploads its agent; each host has
                    # its own remote_tmp, as separate machines would)
                    shutil.rmtree(dest, ignore_errors=True)
                elif os.path.isdir(rt_tool):
                    # warm: what this tool's run of case a left in remote_tmp (play's agent)
                    os.rename(rt_tool, rt)
                cfg = os.path.join(work, f"ansible-{case}-{tool}.cfg")
                cp_dir = os.path.join(work, "cp", f"{case}-{tool}")
                os.makedirs(cp_dir, exist_ok=True)
                write_cfg(cfg, nh, cp_dir, strat if tool == "mitogen" else None)
                exe = play_bin if tool == "play" else ansible_playbook
                cmd = [exe, "-i", inv, pb, "-e", f"bench_dest={dest}"]
                if tool == "play" and os.environ.get("BENCH_PLAY_WRAP"):
                    # A profiler around play (its figures then include the profiler's).
                    cmd = os.environ["BENCH_PLAY_WRAP"].split() + cmd
                log_path = os.path.join(work, f"log-{case}-{tool}.txt")
                log(f"case {case} ({nh} hosts x {nt} tasks) with {tool} ...")
                r = measure(cmd, dict(env, ANSIBLE_CONFIG=cfg), log_path, timeout)
                if case == "a" and os.path.isdir(rt):
                    os.makedirs(os.path.dirname(rt_tool), exist_ok=True)
                    os.rename(rt, rt_tool)
                rc_hosts = recap(log_path)
                tot = [sum(v[i] for v in rc_hosts.values()) for i in range(4)]
                problems = []
                if r["timed_out"]:
                    problems.append("timed out")
                if r["rc"] != 0:
                    problems.append(f"exit {r['rc']}")
                if len(rc_hosts) != nh:
                    problems.append(f"recap for {len(rc_hosts)} of {nh} hosts")
                if tot[2] or tot[3]:
                    problems.append(f"unreachable={tot[2]} failed={tot[3]}")
                if tot[0] != nh * nt:
                    problems.append(f"ok={tot[0]}, expected {nh * nt}")
                if case == "b" and tot[1]:
                    problems.append(f"changed={tot[1]} on the re-run")
                if case != "b" and tot[1] != nh * expected_changed(nt):
                    problems.append(f"changed={tot[1]}, expected {nh * expected_changed(nt)}")
                r.update(case=case, tool=tool, hosts=nh, tasks=nt, ok=tot[0], changed=tot[1],
                         problems=problems, log=log_path)
                results.append(r)
                log(f"  {tool}: {r['wall']:.2f}s wall, {r['cpu']:.2f}s cpu, "
                    f"{r['maxrss_kb'] / 1024:.0f} MB max RSS, {r['peak_pss_kb'] / 1024:.0f} MB peak PSS"
                    + (f"  PROBLEM: {'; '.join(problems)} (see {log_path})" if problems else ""))
        load_after = os.getloadavg()
    finally:
        fleet.stop()
        # Anything still below us (orphaned sessions): stop it and reap it.
        for p in descendants(os.getpid()):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        while True:
            try:
                if os.waitpid(-1, 0)[0] == 0:
                    break
            except ChildProcessError:
                break
        user.remove()
        left = [pid for pid in proc_parents() if work in cmdline(pid)]
        if left:
            log(f"WARNING: processes still running with {work} in their command line: {left}")
        if keep or any(r["problems"] for r in results):
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    report(results, hosts, tasks, long_tasks, wide_hosts, wide_tasks, started, load_before, load_after)
    return 1 if any(r["problems"] for r in results) else 0


def expected_changed(ntasks):
    """Tasks that report changed on a fresh host: all but the commands (changed_when: false);
    lineinfile and the first task create/modify on first run."""
    return sum(1 for i in range(ntasks) if i == 0 or i % 5 != 1)


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def report(results, hosts, tasks, long_tasks, wide_hosts, wide_tasks, started, lb, la):
    names = {"a": f"a: {hosts} hosts x {tasks} tasks", "b": f"b: a again, no change",
             "c": f"c: 1 host x {long_tasks} tasks", "d": f"d: {wide_hosts} hosts x {wide_tasks} tasks"}
    print()
    print(f"started {started}; {os.cpu_count()} CPUs; load average before "
          f"{lb[0]:.2f} {lb[1]:.2f} {lb[2]:.2f}, after {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}")
    print("cpu = controller user+sys of the whole process tree; maxrss = largest single controller "
          "process; pss = peak of the summed PSS of the controller's process tree")
    print()
    hdr = f"{'case':<28} {'tool':<8} {'wall s':>8} {'cpu s':>8} {'maxrss MB':>10} {'pss MB':>8}  {'ok/changed':>11}  note"
    print(hdr)
    print("-" * len(hdr))
    for r in results:
        print(f"{names[r['case']]:<28} {r['tool']:<8} {r['wall']:>8.2f} {r['cpu']:>8.2f} "
              f"{r['maxrss_kb'] / 1024:>10.1f} {r['peak_pss_kb'] / 1024:>8.1f}  "
              f"{str(r['ok']) + '/' + str(r['changed']):>11}  {'; '.join(r['problems'])}")
    by = {(r["case"], r["tool"]): r for r in results}
    print()
    hdr = f"{'case':<28} {'ratio':<14} {'wall':>8} {'cpu':>8} {'maxrss':>8} {'pss':>8}"
    print(hdr)
    print("-" * len(hdr))
    for case in "abcd":
        p = by.get((case, "play"))
        if not p:
            continue
        for tool in ("ansible", "mitogen"):
            o = by.get((case, tool))
            if not o:
                continue

            def ratio(k):
                return f"{o[k] / p[k]:.1f}x" if p[k] else "-"

            print(f"{names[case]:<28} {tool + '/play':<14} {ratio('wall'):>8} {ratio('cpu'):>8} "
                  f"{ratio('maxrss_kb'):>8} {ratio('peak_pss_kb'):>8}")
    print(flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        sys.exit(measure_main(sys.argv[2:]))
    sys.exit(main())
