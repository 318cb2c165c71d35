#!/usr/bin/env python3
"""Deployment stages, measured: bench/stages.sh (see bench/README.md). Needs root.

  S1  the all-in-one example (playbooks/aio.yml, local connection): play's first run from a
      clean machine, play's re-run (every finished stage skipped) and ansible-playbook's
      re-run of the same playbook (which re-walks every task).
  S2  STAGES_HOSTS loopback sshd hosts (default 10) and a play of 3 stage-split roles whose
      install tasks take a different time on each host: play --staged, play in Ansible's
      order, and ansible-playbook. Every install and configure task logs its start and end,
      so the report shows how many hosts were installing (and configuring) at once.

Prints wall times and ratios; writes bench/results/stages-<time>.json. Standard library only.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench as B  # noqa: E402  (the sshd fleet and the measuring harness)

ROOT = B.ROOT
AIO_ROOT = "/srv/play-aio"


def play_bin():
    b = os.environ.get("BENCH_PLAY_BIN")
    if b:
        return b
    if os.environ.get("BENCH_NO_BUILD") != "1":
        B.run(["cargo", "build", "--release", "--bin", "play"], cwd=ROOT)
    return os.path.join(ROOT, "target", "release", "play")


def measured(name, cmd, env, work, timeout):
    log_path = os.path.join(work, name + ".log")
    r = B.measure(cmd, env, log_path, timeout)
    r["recap"] = B.recap(log_path)
    B.log(f"{name}: rc={r['rc']} wall={r['wall']:.2f}s cpu={r['cpu']:.2f}s")
    if r["rc"] != 0:
        with open(log_path, errors="replace") as f:
            tail = f.read()[-3000:]
        sys.exit(f"bench: {name} failed (rc {r['rc']}):\n{tail}")
    return r


# ---------------------------------------------------------------------------------------
# S1: the all-in-one re-run


def aio_reset():
    for svc in ("appsvc", "nginx", "memcached"):
        script = f"/etc/init.d/{svc}"
        if os.path.exists(script):
            subprocess.run([script, "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["update-rc.d", "-f", "appsvc", "remove"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    for p in (AIO_ROOT, "/var/cache/play/stage/appsvc"):
        shutil.rmtree(p, ignore_errors=True)
    for p in ("/etc/init.d/appsvc", "/etc/nginx/sites-enabled/play-aio",
              "/etc/nginx/sites-available/play-aio", "/etc/ansible/facts.d/cache.fact",
              "/etc/ansible/facts.d/appsvc.fact", "/etc/ansible/facts.d/webfront.fact"):
        try:
            os.remove(p)
        except FileNotFoundError:
            pass


def s1(play, ansible, work, env, timeout):
    tree = os.path.join(work, "aio")
    for d in ("playbooks", "roles"):
        shutil.copytree(os.path.join(ROOT, d), os.path.join(tree, d),
                        ignore=shutil.ignore_patterns("artifacts"))
    shutil.copy(os.path.join(ROOT, "ansible.cfg"), tree)
    # The services the first run starts must still run for the re-runs.
    env = dict(env, ANSIBLE_CONFIG=os.path.join(tree, "ansible.cfg"), BENCH_LEAVE_RUNNING="1")
    args = ["-i", os.path.join(tree, "playbooks/inventory.ini"), os.path.join(tree, "playbooks/aio.yml")]
    aio_reset()
    try:
        first = measured("s1-play-first", [play] + args, env, work, timeout)
        rerun = measured("s1-play-rerun", [play] + args, env, work, timeout)
        ans = measured("s1-ansible-rerun", [ansible] + args, env, work, timeout)
    finally:
        aio_reset()
    return {"play_first": first, "play_rerun": rerun, "ansible_rerun": ans}


# ---------------------------------------------------------------------------------------
# S2: stage-split roles on many hosts


def write_roles(base, events):
    """Three roles; install waits 0..0.75 s per task depending on host and role."""
    for n in (1, 2, 3):
        tasks = os.path.join(base, "roles", f"svc{n}", "tasks")
        os.makedirs(tasks)
        with open(os.path.join(tasks, "main.yml"), "w") as f:
            f.write(f"- import_tasks: svc{n}_install.yml\n- import_tasks: svc{n}_configure.yml\n")
        span = ('echo "{{{{ inventory_hostname }}}} {kind} $(date +%s.%N) start" >> ' + events +
                '; sleep {delay}; echo "{{{{ inventory_hostname }}}} {kind} $(date +%s.%N) end" >> ' + events)
        delay = f"{{{{ ((groups['all'].index(inventory_hostname) * 7 + {n}) % 4) * 0.25 }}}}"
        with open(os.path.join(tasks, f"svc{n}_install.yml"), "w") as f:
            f.write(f"- name: svc{n} directory\n  file:\n    path: \"{{{{ bench_root }}}}/svc{n}\"\n"
                    "    state: directory\n    mode: \"0755\"\n")
            for step in (1, 2):
                cmd = json.dumps(span.format(kind="install", delay=delay))
                f.write(f"- name: svc{n} install step {step}\n  shell: {cmd}\n")
            f.write(f"- name: svc{n} files\n  copy:\n    content: \"svc{n} on {{{{ inventory_hostname }}}}\\n\"\n"
                    f"    dest: \"{{{{ bench_root }}}}/svc{n}/installed\"\n    mode: \"0644\"\n")
        with open(os.path.join(tasks, f"svc{n}_configure.yml"), "w") as f:
            cmd = json.dumps(span.format(kind="configure", delay="0.2"))
            f.write(f"- name: svc{n} configure\n  shell: {cmd}\n")
    with open(os.path.join(base, "site.yml"), "w") as f:
        f.write("- hosts: all\n  gather_facts: false\n"
                "  fact_path: \"{{ bench_dest }}/facts/{{ inventory_hostname }}\"\n  vars:\n"
                "    bench_root: \"{{ bench_dest }}/{{ inventory_hostname }}\"\n"
                "    stage_version: \"1\"\n"
                "  roles: [svc1, svc2, svc3]\n")


def concurrency(events):
    """The most hosts inside an install (configure) task at one moment."""
    spans = {"install": [], "configure": []}
    with open(events) as f:
        for line in f:
            host, kind, t, what = line.split()
            spans[kind].append((float(t), 1 if what == "start" else -1))
    out = {}
    for kind, marks in spans.items():
        now = peak = 0
        for _, d in sorted(marks, key=lambda m: (m[0], m[1])):
            now += d
            peak = max(peak, now)
        out[kind] = peak
    return out


def s2(play, ansible, work, env, timeout, nhosts, port):
    fleet = B.Fleet(os.path.join(work, "fleet"), port)
    os.makedirs(fleet.work)
    results = {}
    try:
        fleet.start(nhosts)
        base = os.path.join(work, "s2")
        os.makedirs(base)
        events = os.path.join(work, "events")
        write_roles(base, events)
        inv = os.path.join(base, "inventory.ini")
        B.write_inventory(inv, fleet, nhosts, os.path.join(work, "remote-tmp"))
        cfg = os.path.join(base, "ansible.cfg")
        B.write_cfg(cfg, nhosts, os.path.join(work, "cp"))
        env = dict(env, ANSIBLE_CONFIG=cfg)
        # Upload the agent to every host first, so no measured run pays for it.
        warm = [play, "--list-stages", "-i", inv, os.path.join(base, "site.yml"),
                "-e", f"bench_dest={work}/dest"]
        subprocess.run(warm, env=env, stdout=subprocess.DEVNULL, check=True)
        runs = [
            ("s2-play-staged", [play, "--staged"]),
            ("s2-play-ansible-order", [play]),
            ("s2-ansible", [ansible]),
        ]
        for name, cmd in runs:
            shutil.rmtree(os.path.join(work, "dest"), ignore_errors=True)
            if os.path.exists(events):
                os.remove(events)
            full = cmd + ["-i", inv, os.path.join(base, "site.yml"), "-e", f"bench_dest={work}/dest"]
            r = measured(name, full, env, work, timeout)
            r["concurrency"] = concurrency(events)
            B.log(f"{name}: at most {r['concurrency']['install']} hosts installing, "
                  f"{r['concurrency']['configure']} configuring at once")
            results[name] = r
    finally:
        fleet.stop()
    return results


def main():
    if os.geteuid() != 0:
        sys.exit("bench: needs root (sshd must switch users; the all-in-one installs packages)")
    ansible = os.path.join(B.ORACLE_VENV, "bin", "ansible-playbook")
    if not os.access(ansible, os.X_OK):
        sys.exit(f"bench: no oracle at {ansible}; run scripts/venv.sh")
    play = play_bin()
    B.ensure_sshd()
    cases = os.environ.get("BENCH_CASES", "s1 s2").split()
    nhosts = B.env_int("STAGES_HOSTS", 10)
    timeout = B.env_int("BENCH_TIMEOUT", 1800)
    work = tempfile.mkdtemp(prefix="play-stages-bench-")
    os.chmod(work, 0o755)
    env = dict(os.environ, ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3", ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="False")
    env.pop("ANSIBLE_CONFIG", None)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load_before = os.getloadavg()
    out = {"started": started, "load_before": load_before, "hosts": nhosts}
    try:
        if "s1" in cases:
            out["s1"] = s1(play, ansible, work, env, timeout)
        if "s2" in cases:
            out["s2"] = s2(play, ansible, work, env, timeout, nhosts, B.env_int("BENCH_PORT", 2222))
    finally:
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
    out["load_after"] = os.getloadavg()
    report(out)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", time.strftime("stages-%Y%m%d-%H%M%S.json"))
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(f"\nresults: {path}")


def report(out):
    print(f"\nstarted {out['started']}, load {out['load_before'][0]:.1f} -> {out['load_after'][0]:.1f}")
    if "s1" in out:
        s = out["s1"]
        first, rerun, ans = (s[k]["wall"] for k in ("play_first", "play_rerun", "ansible_rerun"))
        print("\nS1 all-in-one (local):            wall     cpu")
        for k, label in (("play_first", "play, first run"), ("play_rerun", "play, re-run"),
                         ("ansible_rerun", "ansible-playbook, re-run")):
            print(f"  {label:<30} {s[k]['wall']:7.2f}s {s[k]['cpu']:7.2f}s")
        print(f"  play re-run vs ansible re-run:  {ans / rerun:7.1f}x faster")
        print(f"  play re-run vs its first run:   {first / rerun:7.1f}x faster")
    if "s2" in out:
        s = out["s2"]
        print(f"\nS2 {out['hosts']} hosts x 3 stage-split roles:   wall   installing  configuring at once")
        for k in ("s2-play-staged", "s2-play-ansible-order", "s2-ansible"):
            c = s[k]["concurrency"]
            print(f"  {k:<32} {s[k]['wall']:7.2f}s {c['install']:6d} {c['configure']:12d}")
        staged, order, ans = (s[k]["wall"] for k in ("s2-play-staged", "s2-play-ansible-order", "s2-ansible"))
        print(f"  --staged vs play in Ansible order: {order / staged:5.2f}x")
        print(f"  --staged vs ansible-playbook:      {ans / staged:5.2f}x")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        sys.exit(B.measure_main(sys.argv[2:]))
    main()
