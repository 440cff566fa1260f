#!/usr/bin/env python3
"""The HTTP face's cost and capacity, for trivial executions ("echo hi").

1. Latency of one execution: `symbi-sandbox run` (a new process each time)
   next to POST /v1/execute on a running server (one keep-alive connection),
   sequentially, per backend.
2. Throughput: 8 clients, each with its own keep-alive connection, posting
   back to back for a fixed time; requests per second and latency quantiles.

Prints a table and writes bench/results/serve-bench.json. Runs only against
127.0.0.1. Usage: bench/serve-bench.py [--backends native,docker] [--runs 30]
[--seconds 10] [--clients 8] [--gap SECONDS] (a pause before each sequential
request, so that each finds a warm sandbox: the latency of the warm path).
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SB = os.environ.get("SB", os.path.join(ROOT, "build", "symbi-sandbox"))
IMAGE = "symbi-test/busybox:latest"
BODY = json.dumps({"code": "echo hi"}).encode()


def quantiles(xs):
    xs = sorted(xs)
    q = lambda p: xs[min(len(xs) - 1, int(p * len(xs)))]  # noqa: E731
    return {"n": len(xs), "median_ms": round(statistics.median(xs), 2), "p90_ms": round(q(0.9), 2),
            "p99_ms": round(q(0.99), 2), "min_ms": round(xs[0], 2)}


def start_server(backend, tmp, clients):
    policy = os.path.join(tmp, "policy.json")
    with open(policy, "w") as f:
        json.dump({"default_backend": backend, "allowed_backends": [backend], "default_image": IMAGE,
                   "max_running": clients, "max_queued": 64}, f)
    ready = os.path.join(tmp, "ready")
    proc = subprocess.Popen([SB, "serve", "--listen", "127.0.0.1:0", "--policy", policy,
                             "--ready-file", ready], stderr=subprocess.DEVNULL)
    for _ in range(100):
        if os.path.exists(ready) and open(ready).read().strip():
            return proc, int(open(ready).read())
        time.sleep(0.05)
    proc.kill()
    sys.exit("the server did not start")


def post(conn):
    conn.request("POST", "/v1/execute", body=BODY, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200 or json.loads(data)["stdout"] != "hi\n":
        raise RuntimeError(f"bad answer {r.status}: {data[:200]!r}")


def bench_backend(backend, args):
    out = {"backend": backend}
    cli = []
    extra = ["--image", IMAGE] if backend != "native" else []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        subprocess.run([SB, "run", "--backend", backend, *extra, "echo hi"], check=True,
                       stdout=subprocess.DEVNULL)
        cli.append((time.perf_counter() - t0) * 1000)
    out["cli_latency"] = quantiles(cli)
    with tempfile.TemporaryDirectory(prefix="symbi-bench.") as tmp:
        proc, port = start_server(backend, tmp, args.clients)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            post(conn)  # warm-up
            seq = []
            for _ in range(args.runs):
                time.sleep(args.gap)  # lets the warm pool refill (not timed)
                t0 = time.perf_counter()
                post(conn)
                seq.append((time.perf_counter() - t0) * 1000)
            conn.close()
            out["http_latency"] = quantiles(seq)

            stop = time.perf_counter() + args.seconds
            lat, errors, lock = [], [], threading.Lock()

            def client():
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                mine = []
                while time.perf_counter() < stop:
                    t0 = time.perf_counter()
                    try:
                        post(c)
                        mine.append((time.perf_counter() - t0) * 1000)
                    except Exception as e:  # noqa: BLE001 - counted, not fatal
                        errors.append(repr(e))
                        c.close()
                        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                c.close()
                with lock:
                    lat.extend(mine)

            t0 = time.perf_counter()
            threads = [threading.Thread(target=client) for _ in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
            out["throughput"] = {"clients": args.clients, "seconds": round(elapsed, 2),
                                 "requests": len(lat), "errors": len(errors),
                                 "requests_per_second": round(len(lat) / elapsed, 1),
                                 **quantiles(lat or [0])}
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="native,docker")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--gap", type=float, default=0,
                    help="seconds between sequential requests, so that each finds a warm sandbox")
    args = ap.parse_args()
    results = {"host_cpus": os.cpu_count(), "code": "echo hi",
               "backends": [bench_backend(b, args) for b in args.backends.split(",")]}
    print(f"{'backend':8} {'CLI run (median/p90 ms)':>24} {'HTTP execute (median/p90 ms)':>29} "
          f"{'8 clients: req/s':>17} {'(median/p90 ms)':>16}")
    for r in results["backends"]:
        c, h, t = r["cli_latency"], r["http_latency"], r["throughput"]
        print(f"{r['backend']:8} {c['median_ms']:>15.1f} / {c['p90_ms']:<6.1f} "
              f"{h['median_ms']:>20.1f} / {h['p90_ms']:<6.1f} {t['requests_per_second']:>17.1f} "
              f"{t['median_ms']:>8.1f} / {t['p90_ms']:<6.1f}"
              + (f"  ({t['errors']} errors)" if t["errors"] else ""))
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    path = os.path.join(ROOT, "bench", "results", "serve-bench.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
    print(f"# written to {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
