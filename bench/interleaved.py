#!/usr/bin/env python3
"""Commands timed in turns: run 1 of each, then run 2 of each (in reverse
order every other round), and so on, so that a machine that speeds up or
slows down during the measurement (this machine kind's neighbours do) moves
every command's numbers alike. hyperfine measures one command's runs back
to back, which on a noisy host makes two commands of equal cost differ by
10-20% from one block to the next.

    bench/interleaved.py [--runs N] [--rounds R] CMD CMD...

Each command's output goes to /dev/null; a failing run stops the bench.
Prints each command's median and quartiles per round, and each command's
median over that of the last one (below 1.00: faster than the last)."""
import argparse
import os
import shlex
import statistics
import sys
import time


def once(argv, null):
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ,
                          file_actions=[(os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)])
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        sys.exit(f"interleaved: {shlex.join(argv)} failed (wait status {status})")
    return elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=300, help="runs of each command per round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds, each reported alone")
    ap.add_argument("commands", nargs="+")
    a = ap.parse_args()
    cmds = [shlex.split(c) for c in a.commands]
    null = os.open(os.devnull, os.O_RDWR)
    for argv in cmds:  # warm-up: page cache, dentries
        for _ in range(10):
            once(argv, null)
    for rnd in range(1, a.rounds + 1):
        times = [[] for _ in cmds]
        for i in range(a.runs):
            order = range(len(cmds)) if i % 2 == 0 else reversed(range(len(cmds)))
            for j in order:
                times[j].append(once(cmds[j], null) * 1000)
        last = statistics.median(times[-1])
        print(f"# round {rnd}: {a.runs} runs each, interleaved (ms)")
        for c, t in zip(a.commands, times):
            q = statistics.quantiles(t, n=4)
            print(f"  median {statistics.median(t):6.2f}  q1 {q[0]:6.2f}  q3 {q[2]:6.2f}  "
                  f"ratio {statistics.median(t) / last:5.3f}  {c}")


if __name__ == "__main__":
    main()
