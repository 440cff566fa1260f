// Drives `symbi-sandbox mcp` with the official MCP TypeScript SDK client over
// a real stdio transport. Prints "PASS name" / "FAIL name: why" per check.
// usage: node client.mjs SB [server args...]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [sb, ...serverArgs] = process.argv.slice(2);
let failed = 0;
const check = (name, cond, why = "") => {
  if (!cond) failed++;
  console.log(`${cond ? "PASS" : "FAIL"} ${name}${cond ? "" : ": " + why}`);
};
const show = (v) => JSON.stringify(v).slice(0, 400);

const transport = new StdioClientTransport({ command: sb, args: ["mcp", ...serverArgs], stderr: "inherit" });
const client = new Client({ name: "symbi-sandbox-test", version: "1.0.0" });
try {
  await client.connect(transport);
  const info = client.getServerVersion();
  check("initialize: server info", info?.name === "symbi-sandbox", show(info));
  check("initialize: tools capability", !!client.getServerCapabilities()?.tools, show(client.getServerCapabilities()));
  await client.ping();
  check("ping", true);

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  const want = ["execute_code", "process_list", "process_output", "process_signal",
    "process_start", "process_write_stdin", "session_close", "session_create", "session_execute",
    "session_list_files", "session_read_file", "session_write_file"];
  check("tools/list names every tool", JSON.stringify(names) === JSON.stringify(want), show(names));
  const exec = tools.find((t) => t.name === "execute_code");
  check("execute_code has an input schema requiring code",
    exec?.inputSchema?.type === "object" && exec.inputSchema.required?.includes("code") &&
    ["language", "timeout", "env"].every((k) => k in exec.inputSchema.properties), show(exec?.inputSchema));

  check("execute_code declares its output schema (the result JSON)",
    exec?.outputSchema?.type === "object" && exec.outputSchema.required?.includes("exit_code"), show(exec?.outputSchema));

  let r = await client.callTool({ name: "execute_code", arguments: { code: 'echo "out-$GREETING"; echo err >&2; exit 3', env: { GREETING: "hi" } } });
  const s = r.structuredContent;
  check("execute_code: structured result", s?.exit_code === 3 && s.stdout === "out-hi\n" && s.stderr === "err\n" && s.status === "exited" && s.success === false, show(r));
  check("execute_code: text content holds the same result JSON",
    r.content?.[0]?.type === "text" && JSON.stringify(JSON.parse(r.content[0].text)) === JSON.stringify(s), show(r.content));
  check("execute_code: a non-zero exit is not a tool error", r.isError === false, show(r));

  r = await client.callTool({ name: "execute_code", arguments: { code: "sleep 10", timeout: 1 } });
  check("execute_code: timeout applies", r.structuredContent?.status === "timeout", show(r));

  r = await client.callTool({ name: "execute_code", arguments: { code: "echo x", timeout: 100000 } });
  check("execute_code: over the policy maximum is a tool error", r.isError === true && /limit_exceeded/.test(r.content?.[0]?.text), show(r));

  r = await client.callTool({ name: "execute_code", arguments: { code: "echo x", language: "cobol" } });
  check("execute_code: unknown language is a tool error", r.isError === true, show(r));

  let threw = null;
  try { await client.callTool({ name: "no_such_tool", arguments: {} }); } catch (e) { threw = e; }
  check("unknown tool: JSON-RPC error", threw !== null && threw.code === -32602, String(threw));

  // A session end to end.
  r = await client.callTool({ name: "session_create", arguments: { timeout: 10 } });
  const sid = r.structuredContent?.id;
  check("session_create returns an id", typeof sid === "string" && sid.length === 32 && !r.isError, show(r));
  r = await client.callTool({ name: "session_write_file", arguments: { session_id: sid, path: "src/notes.txt", content: "from the client\n" } });
  check("session_write_file", !r.isError && r.structuredContent?.size === 16, show(r));
  r = await client.callTool({ name: "session_execute", arguments: { session_id: sid, code: "cat src/notes.txt; echo made-in-sandbox > out.txt" } });
  check("session_execute sees the written file", r.structuredContent?.stdout === "from the client\n", show(r));
  r = await client.callTool({ name: "session_execute", arguments: { session_id: sid, code: "cat out.txt" } });
  check("a file written by one call is read by the next", r.structuredContent?.stdout === "made-in-sandbox\n", show(r));
  r = await client.callTool({ name: "session_read_file", arguments: { session_id: sid, path: "out.txt" } });
  check("session_read_file", r.structuredContent?.content === "made-in-sandbox\n" && r.content?.[0]?.text === "made-in-sandbox\n", show(r));
  r = await client.callTool({ name: "session_list_files", arguments: { session_id: sid } });
  check("session_list_files", JSON.stringify(r.structuredContent?.entries?.map((e) => e.name)) === '["out.txt","src"]', show(r));
  r = await client.callTool({ name: "session_read_file", arguments: { session_id: sid, path: "../../etc/passwd" } });
  check("a path escape is refused", r.isError === true && /invalid_path/.test(r.content?.[0]?.text), show(r));
  r = await client.callTool({ name: "session_close", arguments: { session_id: sid } });
  check("session_close", !r.isError, show(r));
  r = await client.callTool({ name: "session_execute", arguments: { session_id: sid, code: "true" } });
  check("a closed session is gone", r.isError === true && /not_found/.test(r.content?.[0]?.text), show(r));

  // Cancellation: the SDK sends notifications/cancelled when the signal aborts.
  const ac = new AbortController();
  const t1 = Date.now();
  const pending = client.callTool({ name: "execute_code", arguments: { code: `sleep 20; echo ${process.env.MARK || "x"}` } },
    undefined, { signal: ac.signal });
  setTimeout(() => ac.abort("test"), 1500);
  let aborted = null;
  try { await pending; } catch (e) { aborted = e; }
  check("an aborted call rejects on the client", aborted !== null, "it resolved");
  r = await client.callTool({ name: "execute_code", arguments: { code: "echo after" } });
  check("the server keeps answering after a cancellation", r.structuredContent?.stdout === "after\n", show(r));
  console.log(`# cancelled after ${Date.now() - t1} ms`);

  // Calls run concurrently: two 1 s sleeps take well under 2 s... plus start-up.
  const t0 = Date.now();
  const [a, b] = await Promise.all([
    client.callTool({ name: "execute_code", arguments: { code: "sleep 1; echo a" } }),
    client.callTool({ name: "execute_code", arguments: { code: "sleep 1; echo b" } }),
  ]);
  check("concurrent calls both answer", a.structuredContent?.stdout === "a\n" && b.structuredContent?.stdout === "b\n", show([a, b]));
  console.log(`# two concurrent 1 s executions took ${Date.now() - t0} ms`);
} catch (e) {
  check("no exception", false, e?.stack || String(e));
} finally {
  await client.close();
}
process.exit(failed ? 1 : 0);
