"""Raw JSON-RPC checks of `symbi-sandbox mcp` (issue 8): conformance for {}, [],
bad ids; binary files through base64; every accepted limit in the tool
schemas; a bounded message size. Prints "PASS name" or "FAIL name: detail"
per check, like client.mjs.

  raw_checks.py SB [mcp options...]"""
import base64
import json
import select
import subprocess
import sys

# Unbuffered, so that select() sees every line not yet read.
proc = subprocess.Popen([sys.argv[1], "mcp", *sys.argv[2:]], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)


def send_raw(line):
    proc.stdin.write(line + b"\n")
    proc.stdin.flush()


def read():
    # A guard against a server that never answers (a failure, not a hang).
    if not select.select([proc.stdout], [], [], 60)[0]:
        return {"no answer": "within 60 s"}
    return json.loads(proc.stdout.readline())


def call(method, params=None, id_=1):
    msg = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        msg["params"] = params
    send_raw(json.dumps(msg).encode())
    return read()


def tool(name, **args):
    r = call("tools/call", {"name": name, "arguments": args})
    return r.get("result", {})


def check(name, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)[:400]), flush=True)


call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "0"}})
send_raw(b'{"jsonrpc":"2.0","method":"notifications/initialized"}')

# JSON-RPC conformance.
for raw, name in ((b"{}", "{}"), (b"[]", "[]"), (b'{"jsonrpc":"2.0","id":null,"method":"ping"}', "id null"),
                  (b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', "an object id"),
                  (b'{"jsonrpc":"2.0"}', "no id and no method")):
    send_raw(raw)
    r = read()
    check(f"{name} gets -32600 with id null", r.get("id", "absent") is None
          and r.get("error", {}).get("code") == -32600, r)
send_raw(b'[{"jsonrpc":"2.0","id":5,"method":"ping"},{}]')
r = read()
check("a batch answers each element (a result and a -32600)",
      isinstance(r, list) and [e.get("id") for e in r] == [5, None]
      and r[1]["error"]["code"] == -32600, r)
send_raw(b'{"jsonrpc":"2.0","id":6,"result":{}}')  # a response to us: no answer
r = call("ping", id_=7)
check("a response sent to the server is not answered; ping still is", r.get("id") == 7, r)

# Every limit the server accepts is in the schemas.
tools = {t["name"]: t for t in call("tools/list")["result"]["tools"]}
for tname in ("execute_code", "session_create"):
    props = tools[tname]["inputSchema"]["properties"]
    want = {"backend", "image", "language", "shell", "timeout", "memory", "cpus", "pids",
            "max_output_bytes", "network"} | ({"idle_ttl"} if tname == "session_create" else set())
    check(f"{tname}: the schema lists every limit", want <= set(props), sorted(want - set(props)))
    check(f"{tname}: with the policy's maximums", props["timeout"].get("maximum") == 30
          and props["pids"].get("maximum") == 128 and props["cpus"].get("maximum") == 1,
          props["timeout"])
r = tool("execute_code", code="cat /proc/self/cgroup >/dev/null; echo ok", memory="64m", pids=32,
         cpus=1, max_output_bytes=1024, network="none")
check("execute_code accepts memory, pids, cpus, max_output_bytes, network",
      r.get("structuredContent", {}).get("stdout") == "ok\n", r)

# Binary files.
sid = tool("session_create")["structuredContent"]["id"]
blob = bytes(range(256)) + b"\x00after-nul"
r = tool("session_write_file", session_id=sid, path="bin/blob", content=base64.b64encode(blob).decode(),
         encoding="base64")
check("session_write_file with base64", not r.get("isError") and r["structuredContent"]["size"] == len(blob), r)
r = tool("session_execute", session_id=sid, code="od -An -c bin/blob | tail -2 | tr -s ' '")
check("the sandbox sees the exact bytes (NUL included)", "a f t e r - n u l" in
      r.get("structuredContent", {}).get("stdout", ""), r)
r = tool("session_read_file", session_id=sid, path="bin/blob")
st = r.get("structuredContent", {})
check("session_read_file of a binary file answers base64 (auto)", st.get("encoding") == "base64"
      and base64.b64decode(st.get("content", "")) == blob, st)
r = tool("session_write_file", session_id=sid, path="t.txt", content="a\u0000b\u00e9")
check("text with a NUL is written whole", r.get("structuredContent", {}).get("size") == 5, r)
r = tool("session_read_file", session_id=sid, path="t.txt")
check("text with a NUL is read whole, as utf-8", r["structuredContent"]["content"] == "a\u0000b\u00e9"
      and r["content"][0]["text"] == "a\u0000b\u00e9" and r["structuredContent"]["encoding"] == "utf-8", r)
r = tool("session_read_file", session_id=sid, path="bin/blob", encoding="utf-8")
check("encoding utf-8 on a binary file is a clear error", r.get("isError")
      and "base64" in r["content"][0]["text"], r)
r = tool("session_write_file", session_id=sid, path="x", content="%%%", encoding="base64")
check("invalid base64 is refused", r.get("isError") and "base64" in r["content"][0]["text"], r)
r = tool("session_write_file", session_id=sid, path="../escape", content="x")
check("path escapes stay refused", r.get("isError"), r)
r = tool("session_read_file", session_id="x" + "\u00e9" * 40, path="x")
check("an error quoting a session id cut mid-character is still answered",
      r.get("isError") and "not_found" in r["content"][0]["text"], r)
tool("session_close", session_id=sid)

# A bounded message size.
send_raw(b'{"jsonrpc":"2.0","id":9,"method":"ping","params":{"pad":"' + b"x" * (20 << 20) + b'"}}')
r = read()
check("a message over the limit gets -32600 'message too large'", r.get("error", {}).get("code") == -32600
      and "too large" in r["error"]["message"], r)
r = call("ping", id_=10)
check("and the server goes on with the next message", r.get("id") == 10 and "result" in r, r)
proc.stdin.close()
check("the server exits 0 at the end of input", proc.wait(timeout=60) == 0)
