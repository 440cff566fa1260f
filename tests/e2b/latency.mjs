// Latency of Sandbox.create() + a first commands.run('true'), then kill, N
// times (bench/e2b-latency.sh starts the server). Prints one line of ms.
import { Sandbox } from 'e2b';

const n = Number(process.argv[2] || 20);
const times = [];
for (let i = 0; i < n; i++) {
  const t0 = performance.now();
  const sbx = await Sandbox.create();
  await sbx.commands.run('true');
  times.push(performance.now() - t0);
  await sbx.kill();
}
times.sort((a, b) => a - b);
const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(0);
console.log(`create + first commands.run over ${n} runs: median ${at(0.5)} ms, p90 ${at(0.9)} ms, min ${times[0].toFixed(0)} ms`);
