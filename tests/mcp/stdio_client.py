"""A small MCP client over stdio for the integration suites' own scripts
(live_processes.sh, live_sessions.sh, live_processes_hostile.sh; run with
PYTHONPATH=tests/mcp): starts the server command, initializes, and sends
requests one at a time, each answered before the next.

    client = McpClient([SB, "mcp", "--policy", ...])
    sid = client.tool("session_create")["structuredContent"]["id"]
    client.close()"""
import json
import subprocess


class McpClient:
    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self.n = 0
        self.call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                 "clientInfo": {"name": "t", "version": "0"}})
        self.proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')

    def call_sized(self, method, params=None):
        """The answer to a request, and the length of its line in bytes."""
        self.n += 1
        msg = {"jsonrpc": "2.0", "id": self.n, "method": method, "params": params or {}}
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        line = self.proc.stdout.readline()
        return json.loads(line), len(line)

    def call(self, method, params=None):
        return self.call_sized(method, params)[0]

    def tool(self, name, **args):
        """A tool's result (its "result" member)."""
        return self.call("tools/call", {"name": name, "arguments": args})["result"]

    def close(self):
        """Ends the session as a client does: closes stdin, waits for the server."""
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
