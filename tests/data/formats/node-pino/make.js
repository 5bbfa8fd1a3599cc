// make.js — writes sample.log with pino 10.4.0 (default JSON output, written synchronously to the file)
// and key.jsonl from the values of the same calls: the level and message handed to pino and the
// epoch-ms time that pino's own timestamp function produced (stdTimeFunctions.epochTime, with the
// value remembered).  Run from a dir where `npm install pino` was done:
//   TZ=UTC faketime -f "@2026-11-30 23:59:57" node make.js
const path = require('path');
const fs = require('fs');
const pino = require(require.resolve('pino', { paths: [process.cwd(), __dirname, '/work/corpus/node'] }));
const SEV = { 10: 1, 20: 5, 30: 9, 40: 13, 50: 17, 60: 21 };
const NAMES = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
let lastTime = 0;
const dest = pino.destination({ dest: 'sample.log', sync: true, append: false });
const logger = pino({
  level: 'trace',
  timestamp: () => { lastTime = Date.now(); return `,"time":${lastTime}`; },
}, dest);
let seed = 12345;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const pick = (a) => a[Math.floor(rnd() * a.length)];
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const keys = [];
let line = 1;
function log(lg, lvl, obj, msg, fields) {
  lg[NAMES[lvl]](obj, msg);
  keys.push({ line, lines: 1, time: new Date(lastTime).toISOString(), severity: SEV[lvl], level: String(lvl), message: msg, fields: { pid: process.pid, ...fields } });
  line += 1;
}
for (let i = 0; i < 130; i++) {
  const k = Math.floor(rnd() * 20);
  const child = rnd() < 0.3 ? logger.child({ module: pick(['db', 'http', 'queue']) }) : logger;
  const base = child === logger ? {} : { module: child.bindings().module };
  if (k < 8) {
    const o = { req: { method: pick(['GET', 'POST', 'PATCH']), url: pick(['/', '/api/cart', '/api/items?limit=20', '/login']) }, res: { statusCode: pick([200, 200, 201, 304, 404, 500]) }, responseTime: Math.floor(rnd() * 300) };
    log(child, 30, o, 'request completed', { ...base, method: o.req.method, url: o.req.url, status: o.res.statusCode });
  } else if (k < 11) {
    const o = { sql: 'SELECT id FROM carts WHERE user_id = $1', rows: Math.floor(rnd() * 5) };
    log(child, 20, o, 'query executed', { ...base, rows: o.rows });
  } else if (k < 12) {
    log(child, 10, { tick: i }, 'event loop tick', { ...base, tick: i });
  } else if (k < 14) {
    log(child, 40, { heapUsed: 400000000 + Math.floor(rnd() * 1e8) }, 'heap usage above 80%', { ...base });
  } else if (k < 17) {
    const err = new Error(pick(['ECONNREFUSED 127.0.0.1:6379', 'socket hang up', 'Invalid token: jwt expired']));
    log(child, 50, { err }, 'operation failed', { ...base, 'err.message': err.message });
  } else if (k < 18) {
    log(child, 60, {}, 'uncaught exception, shutting down', { ...base });
  } else {
    log(child, 30, {}, `user "${pick(['ana', 'bo', 'cy'])}" changed plan → pro`, { ...base });
  }
  if (rnd() < 0.75) sleep(Math.floor(rnd() * 80));
}
fs.writeFileSync('key.jsonl', keys.map((k) => JSON.stringify(k)).join('\n') + '\n');
