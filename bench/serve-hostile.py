#!/usr/bin/env python3
"""Hostile-client measurements for `symbi-sandbox serve` (issue 8).

  bench/serve-hostile.py [SB]     (SB: the CLI, default build/symbi-sandbox)

Starts a server with tokens on 127.0.0.1 and measures:
 1. its RSS while 90 clients without a token each announce a 10 MiB upload
    and trickle it, and after they are gone;
 2. /v1/health latency while 100 connections sit on partial request heads,
    once from one address (127.0.0.2) and once from 100 addresses
    (127.0.0.2 .. 127.0.0.101: the per-address limit cannot help there).
Health gets 10 s per try; "inf" means no answer within them.
Prints one line per measurement. Only loopback traffic."""
import os, socket, subprocess, sys, tempfile, threading, time, urllib.request

sb = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "build", "symbi-sandbox")
work = tempfile.mkdtemp(prefix="symbi-bench-")
tok = os.path.join(work, "tokens")
with open(tok, "w") as f:
    f.write("bench 0123456789abcdef0123456789\n")
os.chmod(tok, 0o600)
ready = os.path.join(work, "ready")
srv = subprocess.Popen([sb, "serve", "--listen", "127.0.0.1:0", "--ready-file", ready,
                        "--token-file", tok], stderr=subprocess.DEVNULL)
for _ in range(100):
    if os.path.exists(ready) and open(ready).read().strip():
        break
    time.sleep(0.1)
port = int(open(ready).read())


def rss_mb():
    for line in open(f"/proc/{srv.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def health_ms():
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=10) as r:
            r.read()
    except OSError:
        return float("inf")  # no answer within 10 s
    return (time.monotonic() - t0) * 1000


def trickler(stop):
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"PUT /v1/sessions/x/files/big HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Length: 10485760\r\n\r\n")
        chunk = b"x" * 65536
        while not stop.is_set():
            s.sendall(chunk)
            time.sleep(0.05)
    except OSError:
        pass  # the server answered 401 and closed: that is the point


def main():
    flood()
    for label, addrs in (("one address", ["127.0.0.2"] * 100),
                         ("100 addresses", [f"127.0.0.{i}" for i in range(2, 102)])):
        n, worst = partial_heads(addrs)
        print(f"100 partial heads from {label} ({n} connects accepted by the kernel): "
              f"/v1/health worst of 3: {worst:.1f} ms")
        time.sleep(0.5)


def flood():
    base = rss_mb()
    stop = threading.Event()
    threads = [threading.Thread(target=trickler, args=(stop,)) for _ in range(90)]
    for t in threads:
        t.start()
    peak = base
    for _ in range(100):  # 10 s of trickling
        time.sleep(0.1)
        peak = max(peak, rss_mb())
    stop.set()
    for t in threads:
        t.join()
    time.sleep(0.5)
    print(f"upload flood: RSS {base:.1f} MB before, peak {peak:.1f} MB (+{peak - base:.1f}), "
          f"{rss_mb():.1f} MB after")


def partial_heads(addrs):
    socks = []
    for a in addrs:
        try:
            s = socket.socket()
            s.bind((a, 0))
            s.connect(("127.0.0.1", port))
            s.sendall(b"POST /v1/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            socks.append(s)
        except OSError:
            pass
    time.sleep(0.5)
    lat = [health_ms() for _ in range(3)]
    for s in socks:
        s.close()
    return len(socks), max(lat)


try:
    main()
finally:
    srv.terminate()
    srv.wait()
    subprocess.run(["rm", "-rf", work])
