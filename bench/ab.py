#!/usr/bin/env python3
"""bench/ab.py: an interleaved A/B of baton binaries on the reference workflow.

    bench/ab.py N LATENCY_MS REPEAT LABEL=BATON [LABEL=BATON ...]
    BENCH_DIR=/dev/shm bench/ab.py 256 0 9 old=/tmp/old/build/baton new=build/baton

Runs the binaries in turn (A, B, A, B, ...) against one bench/mock_openai.py,
each in a fresh workspace kept until the end (see README: on a journal-less
ext4, deleting files just before a run makes its file creation dearer), and
prints per binary the median wall time, CPU (user + sys of the baton process)
per LLM request and peak RSS. A BATON may start with VAR=value words, which go
to its environment. This VM's speed drifts by a third over minutes: only
binaries measured side by side, in one call, are comparable.
"""
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def project(path):
    """A workspace with the team and planner role of bench/project/."""
    os.makedirs(path + "/.baton/teams")
    os.makedirs(path + "/.baton/roles")
    shutil.copy(HERE + "/project/bench.lua", path + "/.baton/teams/bench.lua")
    shutil.copy(HERE + "/project/bench_planner.lua", path + "/.baton/roles/bench_planner.lua")


def run_once(cmd, ws, n, port):
    env = dict(os.environ, OPENAI_API_KEY="bench", OPENAI_BASE_URL="http://127.0.0.1:%s/v1" % port)
    words = cmd.split()
    while words and "=" in words[0] and not words[0].startswith("/"):
        k, v = words.pop(0).split("=", 1)
        env[k] = v
    if "/" in words[0]:
        words[0] = os.path.abspath(words[0])
    argv = words + ["run", "write %d files" % n, "--team", "bench", "--jobs", str(max(n, 1)),
                    "--quiet", "--max-iterations", "1000"]
    with open(ws + "/stderr", "w+") as err:
        t0, epoch0 = time.perf_counter(), time.time()
        p = subprocess.Popen(argv, cwd=ws, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            sys.exit("%s failed: %s" % (cmd, err.read().strip()[-400:]))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, phases(ws, epoch0, epoch0 + wall)


def phases(ws, start, end):
    """Where a run's wall time went, in ms, from the journal's timestamps:
    exec to the first row, each action's span, and run.end to exit."""
    db = sqlite3.connect(ws + "/.baton/baton.db")
    rows = db.execute("select time, kind, payload from events order by seq").fetchall()
    db.close()
    out = {"start": rows[0][0] - start}
    begun = {}
    for t, kind, payload in rows:
        if kind in ("action.start", "action.end"):
            action = payload.split('"action":"', 1)[1].split('"', 1)[0]
            if kind == "action.start":
                begun[action] = t
            else:
                out[action] = out.get(action, 0) + t - begun.pop(action, t)
        elif kind == "run.end":
            out["exit"] = end - t
    return {k: 1000 * v for k, v in out.items()}


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    n, lat, repeat = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    variants = [a.split("=", 1) for a in sys.argv[4:]]
    root = tempfile.mkdtemp(dir=os.environ.get("BENCH_DIR"), prefix="baton-ab.")
    mock = subprocess.Popen([sys.executable, HERE + "/mock_openai.py", str(n), str(lat)],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = mock.stdout.readline().strip()
        res = {label: [] for label, _ in variants}
        for r in range(repeat):
            for label, cmd in variants:
                ws = "%s/ws-%d-%s" % (root, r, label)
                project(ws)
                res[label].append(run_once(cmd, ws, n, port))
    finally:
        mock.kill()
        shutil.rmtree(root, ignore_errors=True)
    reqs = 2 + 2 * n
    for label, _ in variants:
        wall, cpu, rss, ph = zip(*res[label])
        print("%-10s wall %.3f s (min %.3f)  cpu %.3f s = %.3f ms/request (min %.3f)  rss %d KB" % (
            label, statistics.median(wall), min(wall), statistics.median(cpu),
            1000 * statistics.median(cpu) / reqs, 1000 * min(cpu) / reqs, statistics.median(rss)))
        print("%-10s ms:" % "", "  ".join("%s %.1f" % (k, statistics.median(p.get(k, 0) for p in ph))
                                       for k in ph[0]))


if __name__ == "__main__":
    main()
