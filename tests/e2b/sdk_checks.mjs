// The official E2B SDKs (e2b, @e2b/code-interpreter; pinned by
// package-lock.json), unchanged, against `symbi-sandbox serve --e2b-listen`.
// E2B_API_URL, E2B_SANDBOX_URL and E2B_API_KEY point them at it (set by
// tests/integration/e2b_sdk.sh). Prints "PASS name" / "FAIL name: why" /
// "# note" lines for relay_verdicts.
import { Sandbox, CommandExitError, TimeoutError, NotFoundError, SandboxError } from 'e2b';
import { Sandbox as CodeSandbox } from '@e2b/code-interpreter';
import { existsSync } from 'node:fs';

const MARK = process.env.MARK || 'mark';
const HOST_MARKER = process.env.HOST_MARKER;
const RUN = `r${Date.now()}`;

function check(name, cond, why = '') {
  name = name.replace(/: /g, ' - '); // relay_verdicts cuts a failure's name at ': '
  console.log(`${cond ? 'PASS' : 'FAIL'} ${name}${cond ? '' : ': ' + String(why).replace(/\n/g, ' | ')}`);
}
const eq = (name, want, got) =>
  check(name, JSON.stringify(want) === JSON.stringify(got), `expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
async function throws(fn) {
  try { await fn(); return null; } catch (e) { return e; }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(fn, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await fn()) return true; await sleep(100); }
  return false;
}

// ---- create, and the latency of create + the first command -------------------------
const t0 = Date.now();
const sbx = await Sandbox.create({ metadata: { run: RUN, role: 'a' }, envs: { GLOBAL_VAR: 'from-create' } });
const first = await sbx.commands.run('echo first');
console.log(`# create + first commands.run: ${Date.now() - t0} ms`);
check('create gives a 20-character [a-z0-9] id', /^[a-z0-9]{20}$/.test(sbx.sandboxId), sbx.sandboxId);
eq('the first command runs', 'first\n', first.stdout);

// ---- commands ----------------------------------------------------------------------
{
  const r = await sbx.commands.run('echo out; echo err >&2');
  eq('commands.run: stdout', 'out\n', r.stdout);
  eq('commands.run: stderr', 'err\n', r.stderr);
  eq('commands.run: exit code 0', 0, r.exitCode);
  const e = await throws(() => sbx.commands.run('echo o; echo e >&2; exit 3'));
  check('a non-zero exit is a CommandExitError', e instanceof CommandExitError, e);
  eq('  with its exit code, stdout, stderr', [3, 'o\n', 'e\n'], [e?.exitCode, e?.stdout, e?.stderr]);
  eq('commands.run: envs', 'bar baz', (await sbx.commands.run('printf %s "$FOO"', { envs: { FOO: 'bar baz' } })).stdout);
  eq('create envVars reach every command', 'from-create', (await sbx.commands.run('printf %s "$GLOBAL_VAR"')).stdout);
  eq('the request envs win over create envVars', 'mine', (await sbx.commands.run('printf %s "$GLOBAL_VAR"', { envs: { GLOBAL_VAR: 'mine' } })).stdout);
  eq('the default cwd is the home, /home/user', '/home/user\n', (await sbx.commands.run('pwd')).stdout);
  eq('HOME and USER', '/home/user user', (await sbx.commands.run('printf "%s %s" "$HOME" "$USER"')).stdout);
  eq('commands.run: cwd', '/tmp\n', (await sbx.commands.run('pwd', { cwd: '/tmp' })).stdout);
  await sbx.files.makeDir('sub/dir');
  eq('a relative cwd is under the home', '/home/user/sub/dir\n', (await sbx.commands.run('pwd', { cwd: 'sub/dir' })).stdout);
  const ce = await throws(() => sbx.commands.run('pwd', { cwd: 'no/such/dir' }));
  check('a missing cwd is an InvalidArgumentError', ce?.name === 'InvalidArgumentError' && /does not exist/.test(ce.message), ce);

  // The timeout belongs to the process: the client gives up at timeoutMs,
  // and the server kills it then (it never writes its file).
  const te = await throws(() => sbx.commands.run(`sleep 2; echo late > late-${MARK}.txt`, { timeoutMs: 1000 }));
  check('timeoutMs: the call fails with a TimeoutError', te instanceof TimeoutError || te instanceof CommandExitError, te);
  await sleep(3000);
  eq('  and the server killed the command (it never wrote its file)', false, await sbx.files.exists(`late-${MARK}.txt`));
  const control = await sbx.commands.run(`sleep 2; echo late > late2-${MARK}.txt`, { timeoutMs: 10000 });
  eq('  control: without the timeout it writes it', [0, true], [control.exitCode, await sbx.files.exists(`late2-${MARK}.txt`)]);

  // Background, streamed output, list, kill.
  const seen = [];
  const h = await sbx.commands.run(`echo started; sleep 30 # ${MARK}`, { background: true, timeoutMs: 0, onStdout: (d) => seen.push(d) });
  check('background: output streams as it comes', await until(() => seen.join('') === 'started\n'), seen);
  const listed = (await sbx.commands.list()).find((p) => p.pid === h.pid);
  check('commands.list shows it with its command', listed && listed.cmd === '/bin/bash' && listed.args.at(-1).includes('sleep 30'), JSON.stringify(listed));
  eq('handle.kill() answers true', true, await h.kill());
  const we = await throws(() => h.wait());
  check('  wait() then throws CommandExitError (exit -1, killed)', we instanceof CommandExitError && we.exitCode === -1, we);
  eq('  it is gone from commands.list', undefined, (await sbx.commands.list()).find((p) => p.pid === h.pid));
  eq('commands.kill of an ended process answers false', false, await sbx.commands.kill(h.pid));

  // stdin
  const hi = await sbx.commands.run('read x; echo "got:$x"', { background: true, stdin: true });
  await sbx.commands.sendStdin(hi.pid, 'ping\n');
  eq('stdin: sendStdin reaches the command', 'got:ping\n', (await hi.wait()).stdout);

  // connect to a running command: new output only
  const hc = await sbx.commands.run('echo one; read x; echo "two:$x"', { background: true, stdin: true });
  await until(() => hc.stdout === 'one\n');
  const more = [];
  const hc2 = await sbx.commands.connect(hc.pid, { onStdout: (d) => more.push(d) });
  await sbx.commands.sendStdin(hc.pid, 'z\n');
  const rc = await hc2.wait();
  eq('commands.connect: the output that comes after, and the end', ['two:z\n', 0], [more.join(''), rc.exitCode]);
}

// ---- files -------------------------------------------------------------------------
{
  const d = `f-${RUN}`;
  const info = await sbx.files.write(`${d}/a.txt`, 'hello\nworld');
  eq('files.write answers the entry', ['a.txt', `/home/user/${d}/a.txt`], [info.name, info.path]);
  eq('files.read: text', 'hello\nworld', await sbx.files.read(`${d}/a.txt`));
  eq('  the sandbox sees the same file', 'hello\nworld', (await sbx.commands.run(`cat ${d}/a.txt`)).stdout);
  const bytes = new Uint8Array(256 + 16);
  for (let i = 0; i < 256; i++) bytes[i] = i;
  bytes.set(new TextEncoder().encode('\r\n--boundary\r\n'), 256);
  await sbx.files.write(`${d}/bin.dat`, bytes.buffer);
  const back = await sbx.files.read(`${d}/bin.dat`, { format: 'bytes' });
  eq('files: all 256 byte values (and a boundary-like line) round-trip', Buffer.from(bytes).toString('hex'), Buffer.from(back).toString('hex'));
  eq('  the sandbox sees the same bytes', Buffer.from(bytes).length + ' ' + require_sha(bytes),
     (await sbx.commands.run(`printf "%s %s" $(stat -c %s ${d}/bin.dat) $(sha256sum ${d}/bin.dat | cut -c1-64)`)).stdout);
  await sbx.files.write(`${d}/empty`, '');
  eq('an empty file', '', await sbx.files.read(`${d}/empty`));
  await sbx.files.write([{ path: `${d}/m/x.txt`, data: 'x' }, { path: `/home/user/${d}/m/y.txt`, data: 'y' }]);
  eq('a multi-file write keeps each full path', ['x', 'y'], [await sbx.files.read(`${d}/m/x.txt`), await sbx.files.read(`${d}/m/y.txt`)]);
  const listing = (await sbx.files.list(d)).map((e) => `${e.name}:${e.type}`);
  eq('files.list: directories first, then by name', ['m:dir', 'a.txt:file', 'bin.dat:file', 'empty:file'], listing);
  eq('files.list depth 2 reaches the subdirectory', true, (await sbx.files.list(d, { depth: 2 })).some((e) => e.path === `/home/user/${d}/m/x.txt`));
  eq('files.exists: true, false', [true, false], [await sbx.files.exists(`${d}/a.txt`), await sbx.files.exists(`${d}/nope`)]);
  eq('files.makeDir: true, then false when it exists', [true, false], [await sbx.files.makeDir(`${d}/n1/n2`), await sbx.files.makeDir(`${d}/n1/n2`)]);
  const gi = await sbx.files.getInfo(`${d}/a.txt`);
  eq('files.getInfo', ['a.txt', 'file', 11], [gi.name, gi.type, gi.size]);
  const mv = await sbx.files.rename(`${d}/bin.dat`, `${d}/moved/bin2.dat`);
  eq('files.rename answers the new entry', `/home/user/${d}/moved/bin2.dat`, mv.path);
  eq('  the old path is gone, the new one has the bytes', [false, Buffer.from(bytes).toString('hex')],
     [await sbx.files.exists(`${d}/bin.dat`), Buffer.from(await sbx.files.read(`${d}/moved/bin2.dat`, { format: 'bytes' })).toString('hex')]);
  await sbx.files.remove(`${d}/n1`);
  eq('files.remove: a directory, recursively', false, await sbx.files.exists(`${d}/n1/n2`));
  await sbx.files.remove(`${d}/never-was`);
  check('files.remove of a missing path is no error', true);
  const re = await throws(() => sbx.files.read(`${d}/missing.txt`));
  check('reading a missing file is a NotFoundError', re instanceof NotFoundError, re);
  const oe = await throws(() => sbx.files.read('/etc/passwd'));
  check('paths outside the home are refused', oe instanceof SandboxError, oe);
  const le = await throws(() => sbx.files.read(`${d}/../../../etc/passwd`));
  check('".." is refused', le instanceof Error, le);
  await sbx.commands.run(`ln -s /etc/passwd ${d}/link`);
  const se = await throws(() => sbx.files.read(`${d}/link`));
  check('a symlink the sandbox made is not followed by the server', se instanceof Error, se);
}

function require_sha(bytes) {
  return createHash('sha256').update(Buffer.from(bytes)).digest('hex');
}
import { createHash } from 'node:crypto';

// ---- isolation -------------------------------------------------------------------------
const other = await Sandbox.create({ metadata: { run: RUN, role: 'b' } });
{
  await sbx.files.write(`secret-${RUN}.txt`, 'only-a');
  eq('two sandboxes: B does not see A\'s file (API)', false, await other.files.exists(`secret-${RUN}.txt`));
  eq('  nor from inside', '1', (await other.commands.run(`test -e /home/user/secret-${RUN}.txt; printf %s $?`)).stdout);
  const h = await sbx.commands.run(`sleep 25 # ${MARK}-iso`, { background: true, timeoutMs: 0 });
  eq('  B\'s ps does not show A\'s process', '', (await other.commands.run(`ps -eo args | grep -c "[${MARK[0]}]${MARK.slice(1)}-iso" || true`)).stdout.trim().replace(/^0$/, ''));
  eq('  B\'s API does not list it', undefined, (await other.commands.list()).find((p) => p.pid === h.pid && p.args.at(-1).includes('-iso')));
  await h.kill();
  check('the host: control, the marker exists on the host', HOST_MARKER && existsSync(HOST_MARKER), HOST_MARKER);
  eq('  and is not visible in the sandbox', '1', (await sbx.commands.run(`test -e ${HOST_MARKER}; printf %s $?`)).stdout);
  // The host's /etc/shadow (its digest, from the test script) is not the
  // sandbox's, whatever the sandbox's own /etc holds.
  check('  control: the host\'s /etc/shadow digest is known', /^[0-9a-f]{64}$/.test(process.env.HOST_SHADOW_SHA || ''), process.env.HOST_SHADOW_SHA);
  const inside = (await sbx.commands.run('sha256sum /etc/shadow 2>/dev/null | cut -c1-64; true')).stdout.trim();
  check('  the host\'s /etc/shadow is not what the sandbox sees', inside !== process.env.HOST_SHADOW_SHA, inside);
}

// ---- lifecycle: list, getInfo, setTimeout, connect, kill ---------------------------------
{
  const pager = Sandbox.list({ query: { metadata: { run: RUN } }, limit: 1 });
  const p1 = await pager.nextItems();
  const p2 = pager.hasNext ? await pager.nextItems() : [];
  eq('list: paged by metadata (limit 1: two pages)', [1, 1, false], [p1.length, p2.length, pager.hasNext]);
  eq('  the two sandboxes of this run', [sbx.sandboxId, other.sandboxId].sort(), [...p1, ...p2].map((s) => s.sandboxId).sort());
  eq('  with their metadata', 'b', [...p1, ...p2].find((s) => s.sandboxId === other.sandboxId)?.metadata?.role);
  await sbx.setTimeout(240_000);
  const info = await sbx.getInfo();
  const left = (info.endAt.getTime() - Date.now()) / 1000;
  check('setTimeout(240 s): getInfo\'s endAt is 240 s away', left > 220 && left <= 241, left);
  eq('getInfo: template and state', ['base', 'running'], [info.templateId, info.state]);
  const again = await Sandbox.connect(sbx.sandboxId);
  eq('connect: the sandbox is usable through the new handle', 'ok\n', (await again.commands.run('echo ok')).stdout);
  eq('isRunning while it runs', true, await sbx.isRunning());

  eq('kill answers true', true, await other.kill());
  eq('  isRunning is then false', false, await other.isRunning());
  eq('  Sandbox.kill of it answers false', false, await Sandbox.kill(other.sandboxId));
  const de = await throws(() => other.commands.run('echo x'));
  check('  a command in it fails (sandbox not running)', de?.name === 'SandboxNotFoundError' || de instanceof SandboxError, de);

  const short = await Sandbox.create({ timeoutMs: 2000, metadata: { run: RUN, role: 'short' } });
  const bg = await short.commands.run(`sleep 60 # ${MARK}-ttl`, { background: true, timeoutMs: 0 });
  await sleep(5000);
  eq('a 2 s timeout: 5 s later the sandbox is gone', [false, false], [await short.isRunning(), await Sandbox.kill(short.sandboxId)]);
  void bg;
}

// ---- the code interpreter -------------------------------------------------------------
{
  const ci = await CodeSandbox.create({ metadata: { run: RUN, role: 'ci' }, envs: { CI_VAR: "it's here" } });
  const t1 = Date.now();
  let ex = await ci.runCode('print(1)');
  console.log(`# first runCode (starts the interpreter): ${Date.now() - t1} ms`);
  eq('runCode: stdout', ['1\n'], ex.logs.stdout);
  ex = await ci.runCode('x = 41\nx + 1');
  eq('runCode: the last expression\'s value', '42', ex.text);
  eq('  as the main result', [true, '42'], [ex.results[0]?.isMainResult, ex.results[0]?.text]);
  eq('runCode: a string result loses its quotes', 'abc', (await ci.runCode('"abc"')).text);
  eq('runCode: state persists across calls', '43', (await ci.runCode('x + 2')).text);
  ex = await ci.runCode('import sys\nprint("to err", file=sys.stderr)\nraise ValueError("bad value")');
  eq('runCode: an exception is an error, not a throw', ['ValueError', 'bad value'], [ex.error?.name, ex.error?.value]);
  check('  with its traceback', /ValueError: bad value/.test(ex.error?.traceback || ''), ex.error?.traceback);
  eq('  and stderr', ['to err\n'], ex.logs.stderr);
  const times = [];
  const tstart = Date.now();
  await ci.runCode('import time\nprint("a", flush=True)\ntime.sleep(1.2)\nprint("b")', { onStdout: (m) => times.push([m.line, Date.now() - tstart]) });
  const tend = Date.now() - tstart;
  eq('runCode: onStdout sees every line', ['a\n', 'b\n'], times.map((t) => t[0]));
  check('  the first one as it is printed, before the cell ends', times.length && tend - times[0][1] >= 500, JSON.stringify({ times, tend }));
  // The test policy's default timeout is 5 s: a cell is interrupted there.
  await ci.runCode('kept = 41');
  ex = await ci.runCode('import time\nprint("before", flush=True)\ntime.sleep(30)');
  eq('a cell past its timeout - a TimeoutError error, its output kept', ['TimeoutError', ['before\n']], [ex.error?.name, ex.logs.stdout]);
  // The interrupt (SIGINT: a KeyboardInterrupt, which time.sleep takes at
  // once) ends the cell, not the interpreter: its state is kept.
  const after = await ci.runCode('kept + 1');
  check('  and the next cell runs, with the state of those before', after.text === '42', JSON.stringify(after));
  ex = await ci.runCode('import os\nos._exit(3)');
  check('a cell that ends the interpreter - an error', ex.error?.name === 'ContextError', JSON.stringify(ex));
  eq('  the default context is then replaced (its state is gone)', ['2', 'NameError'], [(await ci.runCode('1 + 1')).text, (await ci.runCode('x')).error?.name]);
  const ctx = await ci.createCodeContext();
  await ci.runCode('y_ctx = 7', { context: ctx });
  eq('a code context keeps its own state', ['7', 'NameError'], [(await ci.runCode('y_ctx', { context: ctx })).text, (await ci.runCode('y_ctx')).error?.name]);
  check('listCodeContexts shows it', (await ci.listCodeContexts()).some((c) => c.id === ctx.id && c.language === 'python'), ctx.id);
  await ci.removeCodeContext(ctx);
  check('  removeCodeContext removes it', !(await ci.listCodeContexts()).some((c) => c.id === ctx.id), ctx.id);
  const gone = await throws(() => ci.runCode('1', { context: ctx }));
  check('  a cell in it is then a NotFoundError', gone instanceof NotFoundError, gone);
  eq('runCode in bash', 'hi\n', (await ci.runCode('echo hi', { language: 'bash' })).logs.stdout.join(''));
  eq('create envs reach python code', ["it's here\n"], (await ci.runCode('import os\nprint(os.environ["CI_VAR"])')).logs.stdout);
  eq('  and bash code', "it's here\n", (await ci.runCode('echo "$CI_VAR"', { language: 'bash' })).logs.stdout.join(''));
  eq('files written by a cell are files of the sandbox', 'cell', (await (async () => { await ci.runCode('open("c.txt","w").write("cell")'); return ci.files.read('c.txt'); })()));
  await ci.kill();
}

await sbx.kill();
console.log('# done');
