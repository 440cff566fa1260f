"""Raw-socket clients for tests/integration/http_hostile.sh: what curl cannot
do (stall mid-header, announce a body and never send it, come from another
loopback address). Every mode prints one line for the shell to compare.

  hostile.py PORT early-401             announce 10 MiB without a token, send nothing
  hostile.py PORT continue-401          the same with Expect: 100-continue
  hostile.py PORT flood N               N clients without a token trickle 10 MiB each
  hostile.py PORT per-ip N ADDR         N+1 stalled heads from ADDR; is the last served?
  hostile.py PORT header-timeout        a stalled head: does the server hang up?
  hostile.py PORT slow-heads N          N stalled heads from N addresses, then /v1/health
  hostile.py PORT raw 'HEAD-LINES'      sends a request head (\\n-separated lines), prints the answer
"""
import json
import socket
import sys
import threading
import urllib.request

port = int(sys.argv[1])
mode = sys.argv[2]
GUARD = 60  # only a guard against a hang, never a measured time


def connect(addr="127.0.0.1"):
    s = socket.socket()
    s.settimeout(GUARD)
    s.bind((addr, 0))
    s.connect(("127.0.0.1", port))
    return s


def read_answer(s):
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")]
                if length and len(body) >= length[0]:
                    break
    except (ConnectionResetError, socket.timeout):
        pass
    return data


def status_of(data):
    parts = data.split(b" ", 2)
    return parts[1].decode() if len(parts) > 1 else "none"


def body_of(data):
    return data.partition(b"\r\n\r\n")[2]


if mode in ("early-401", "continue-401"):
    s = connect()
    extra = b"Expect: 100-continue\r\n" if mode == "continue-401" else b""
    s.sendall(b"PUT /v1/sessions/x/files/big HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Length: 10485760\r\n" + extra + b"\r\n")
    data = read_answer(s)
    err = json.loads(body_of(data) or b"{}").get("error", {}).get("code")
    print(status_of(data), err, b"100 Continue" in data)

elif mode == "flood":
    n = int(sys.argv[3])
    answers = []
    lock = threading.Lock()

    def one():
        s = connect()
        s.sendall(b"PUT /v1/sessions/x/files/big HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Length: 10485760\r\n\r\n")
        got = b""
        try:
            for _ in range(16):  # trickle 1 MiB, reading whatever comes back
                s.sendall(b"x" * 65536)
        except OSError:
            pass
        got = read_answer(s)
        with lock:
            answers.append(status_of(got))
        s.close()

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(sum(1 for a in answers if a == "401"))

elif mode == "per-ip":
    n, addr = int(sys.argv[3]), sys.argv[4]
    held = [connect(addr) for _ in range(n)]
    for s in held:
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no end of head
    extra = connect(addr)
    extra.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    over = status_of(read_answer(extra))
    other = urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=GUARD).status
    for s in held:
        s.close()
    print(over, other)

elif mode == "header-timeout":
    s = connect()
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    try:
        closed = s.recv(1) == b""
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        closed = False
    print("closed" if closed else "open")

elif mode == "slow-heads":
    n = int(sys.argv[3])
    held = []
    for i in range(n):
        s = connect(f"127.0.0.{2 + i}")
        s.sendall(b"POST /v1/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        held.append(s)
    h = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=GUARD))
    for s in held:
        s.close()
    print(h["status"])

elif mode == "raw":
    s = connect()
    head = sys.argv[3].encode().decode("unicode_escape").encode("latin-1")
    body = sys.argv[4].encode() if len(sys.argv) > 4 else b""
    s.sendall(head.replace(b"\n", b"\r\n") + b"\r\n\r\n" + body)
    data = read_answer(s)
    print(status_of(data), body_of(data).decode("utf-8", "replace"))
