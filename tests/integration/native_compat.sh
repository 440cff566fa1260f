#!/usr/bin/env bash
# Compatibility corpus for the seccomp allow list: real programs (python3,
# node, bash and coreutils) doing what sandboxed code does (threads, event
# loops, child processes, loopback servers, TLS, databases, archives) run in
# the native sandbox and must print exactly the right answer. A syscall
# they need that the allow list lacks shows up here as a wrong answer or a
# crash, not as a silent slowdown.
source "$(dirname "$0")/../lib.sh"

require "root" "run the test suite as root (sudo make test)" test "$(id -u)" -eq 0
require "symbi-sandbox binary" "run make first" test -x "$SB"
require "python3 in the sandbox (/usr/bin/python3)" "apt-get install python3" test -x /usr/bin/python3
require "node in the sandbox (/usr/bin/node)" "install Node.js 18 or later as /usr/bin/node (apt-get install nodejs)" \
	test -x /usr/bin/node
require "openssl (makes the TLS test's certificate)" "apt-get install openssl" openssl version

WORK=$(mktemp -d /tmp/symbi-native-compat.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
mkdir -p "$WORK/tls"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -addext subjectAltName=DNS:localhost \
	-days 1 -keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" >/dev/null 2>&1 ||
	not_ok "make a self-signed certificate with openssl"
chmod -R a+rX "$WORK"

py() { "$SB" run --backend native -v "$WORK/tls:/tls:ro" --lang python "$1" 2>&1; }
js() { "$SB" run --backend native --lang node "$1" 2>&1; }
sh_() { "$SB" run --backend native --lang bash "$1" 2>&1; }

# ---- python3
expect_eq "python: threads" "[0, 1, 4, 9, 16, 25, 36, 49]" "$(py '
import threading
out, lock = [], threading.Lock()
def work(i):
    with lock:
        out.append(i * i)
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
for t in ts: t.start()
for t in ts: t.join()
print(sorted(out))')"

expect_eq "python: asyncio (tasks and a loopback stream server)" "[0, 1, 2, 3, 4] HELLO" "$(py '
import asyncio
async def job(i):
    await asyncio.sleep(0.01)
    return i
async def handle(r, w):
    w.write((await r.readline()).upper())
    await w.drain()
    w.close()
async def main():
    results = await asyncio.gather(*(job(i) for i in range(5)))
    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"hello\n")
    await w.drain()
    line = await r.readline()
    w.close()
    srv.close()
    await srv.wait_closed()
    print(results, line.decode().strip())
asyncio.run(main())')"

expect_eq "python: subprocess" "42 child" "$(py '
import subprocess, sys
a = subprocess.run(["sh", "-c", "echo $((6*7))"], capture_output=True, text=True, check=True).stdout.strip()
b = subprocess.check_output([sys.executable, "-c", "print(\"child\")"], text=True).strip()
print(a, b)')"

expect_eq "python: multiprocessing (fork pool, spawned process, queue, lock)" "[0, 1, 4, 9, 16] spawned 5" "$(py '
import multiprocessing as mp
def square(x):
    return x * x
if __name__ == "__main__":
    with mp.get_context("fork").Pool(2) as pool:
        squares = pool.map(square, range(5))
    # Code from -c cannot be imported by a spawned child: its target is
    # a bound method of the queue, which pickles.
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=q.put, args=("spawned",))
    p.start()
    msg = q.get(timeout=60)
    p.join()
    counter, lock = ctx.Value("i", 0), ctx.Lock()
    for _ in range(5):
        with lock:
            counter.value += 1
    print(squares, msg, counter.value)')"

expect_eq "python: sqlite3 (on disk, with a transaction)" "3 600" "$(py '
import sqlite3
db = sqlite3.connect("/tmp/t.db")
with db:
    db.execute("create table t (x integer)")
    db.executemany("insert into t values (?)", [(100,), (200,), (300,)])
print(*db.execute("select count(*), sum(x) from t").fetchone())')"

expect_eq "python: ssl (CA store, hashing, a loopback TLS 1.3 handshake)" \
	"cas=yes sha256=ba7816bf TLSv1.3 PONG" "$(py '
import hashlib, socket, ssl, threading
ctx = ssl.create_default_context()
cas = "yes" if ctx.cert_store_stats()["x509_ca"] > 0 else "no"
digest = hashlib.sha256(b"abc").hexdigest()[:8]
server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server_ctx.load_cert_chain("/tls/cert.pem", "/tls/key.pem")
listener = socket.create_server(("127.0.0.1", 0))
port = listener.getsockname()[1]
def serve():
    conn, _ = listener.accept()
    with server_ctx.wrap_socket(conn, server_side=True) as s:
        s.sendall(s.recv(16).upper())
t = threading.Thread(target=serve)
t.start()
client_ctx = ssl.create_default_context(cafile="/tls/cert.pem")
with client_ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost") as c:
    c.sendall(b"pong")
    answer = c.recv(16).decode()
    version = c.version()
t.join()
print("cas=" + cas, "sha256=" + digest, version, answer)')"

expect_eq "python: a loopback socket server (TCP and UDP)" "tcp:PING udp:PING" "$(py '
import socket, threading
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()
def echo():
    c, _ = srv.accept()
    c.sendall(c.recv(16).upper())
    c.close()
t = threading.Thread(target=echo)
t.start()
cl = socket.create_connection(srv.getsockname())
cl.sendall(b"ping")
tcp = cl.recv(16).decode()
t.join()
u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u1.bind(("127.0.0.1", 0))
u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u2.sendto(b"PING", u1.getsockname())
print("tcp:" + tcp, "udp:" + u1.recv(16).decode())')"

expect_eq "python: tempfile" "named:data dir:1 gone" "$(py '
import os, tempfile
with tempfile.NamedTemporaryFile("w+") as f:
    f.write("data")
    f.flush()
    f.seek(0)
    named = f.read()
with tempfile.TemporaryDirectory() as d:
    open(os.path.join(d, "x"), "w").close()
    n = len(os.listdir(d))
print("named:" + named, "dir:%d" % n, "gone" if not os.path.exists(d) else "left")')"

# ---- node
expect_eq "node: worker_threads" "42" "$(js '
const { Worker } = require("worker_threads");
const w = new Worker("require(\"worker_threads\").parentPort.postMessage(6 * 7)", { eval: true });
w.on("message", (m) => { console.log(m); });')"

expect_eq "node: child_process (sync and async)" "sync:hi async:42" "$(js '
const cp = require("child_process");
const a = cp.execFileSync("sh", ["-c", "echo hi"]).toString().trim();
cp.execFile("sh", ["-c", "echo $((6*7))"], (err, out) => {
  if (err) throw err;
  console.log("sync:" + a, "async:" + out.trim());
});')"

expect_eq "node: fs (sync, promises, streams, directories)" "abc def x.txt,y.txt 6" "$(js '
const fs = require("fs");
const path = "/tmp/n/d";
fs.mkdirSync(path, { recursive: true });
fs.writeFileSync(path + "/x.txt", "abc");
(async () => {
  await fs.promises.writeFile(path + "/y.txt", "def");
  const x = fs.readFileSync(path + "/x.txt", "utf8");
  const y = await fs.promises.readFile(path + "/y.txt", "utf8");
  const names = (await fs.promises.readdir(path)).sort().join(",");
  let total = 0;
  for (const f of ["x.txt", "y.txt"])
    for await (const chunk of fs.createReadStream(path + "/" + f)) total += chunk.length;
  console.log(x, y, names, total);
})();')"

expect_eq "node: a loopback http server" "200 hello /path" "$(js '
const http = require("http");
const srv = http.createServer((req, res) => res.end("hello " + req.url));
srv.listen(0, "127.0.0.1", () => {
  http.get({ host: "127.0.0.1", port: srv.address().port, path: "/path" }, (res) => {
    let body = "";
    res.on("data", (d) => (body += d));
    res.on("end", () => { console.log(res.statusCode, body); srv.close(); });
  });
});')"

# ---- bash and coreutils
expect_eq "bash: sort, find, tar, gzip, xargs, pipes and process substitution" \
	"1 2 3 | d/a.txt d/sub/b.txt | b-content | hello | a b c | same | 3" "$(sh_ '
set -e
cd /tmp
mkdir -p d/sub
printf "3\n1\n2\n" > d/a.txt
echo b-content > d/sub/b.txt
s=$(sort -n d/a.txt | tr "\n" " ")
f=$(find d -type f | sort | tr "\n" " ")
tar czf d.tgz d && rm -rf d && tar xzf d.tgz
b=$(cat d/sub/b.txt)
g=$(echo hello | gzip -9 | gzip -d)
x=$(printf "c\nb\na\n" | xargs -n1 -P2 echo | sort | tr "\n" " ")
diff <(echo same) <(echo same) >/dev/null && p=same
sleep 0.01 & sleep 0.01 & wait
n=$(seq 1 3 | wc -l)
echo "${s% } | ${f% } | $b | $g | ${x% } | $p | $n"')"
finish
