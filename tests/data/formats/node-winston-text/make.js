// make.js — writes sample.log with winston 3.19.0 and key.jsonl.
// MODE json: format.combine(format.errors({stack:true}), format.timestamp(), format.json())
// MODE text: format.combine(format.errors({stack:true}), format.timestamp(),
//            format.printf(({timestamp, level, message, stack, ...meta}) => ...))
// The key comes from a second (in-process) transport that receives the same info objects
// after formatting: info.timestamp (set by format.timestamp()), info.level, info.message.
//   TZ=UTC faketime -f "@2026-11-30 23:59:57" node make.js json|text
const path = require('path');
const fs = require('fs');
const req = (m) => require(require.resolve(m, { paths: [process.cwd(), __dirname, '/work/corpus/node'] }));
const winston = req('winston');
const Transport = req('winston-transport');
const { MESSAGE } = req('triple-beam');
const MODE = process.argv[2] || 'text';
const SEV = { error: 17, warn: 13, info: 9, http: 9, verbose: 5, debug: 5, silly: 1 };
const { format } = winston;
const printf = format.printf(({ timestamp, level, message, stack, ...meta }) => {
  let s = `${timestamp} [${level.toUpperCase()}] ${message}`;
  const rest = JSON.stringify(meta);
  if (rest !== '{}') s += ` ${rest}`;
  if (stack) s += `\n${stack}`;
  return s;
});
const keys = [];
let line = 1;
class KeyTransport extends Transport {
  log(info, cb) {
    const text = info[MESSAGE];
    const n = text.split('\n').length;
    const fields = {};
    for (const [k, v] of Object.entries(info)) if (!['level', 'message', 'timestamp', 'stack'].includes(k)) fields[k] = v;
    keys.push({ line, lines: n, time: info.timestamp, severity: SEV[info.level], level: MODE === 'json' ? info.level : info.level.toUpperCase(),
      message: String(info.message).split('\n')[0], fields });
    line += n;
    cb();
  }
}
const logger = winston.createLogger({
  level: 'silly',
  format: format.combine(format.errors({ stack: true }), format.timestamp(), MODE === 'json' ? format.json() : printf),
  defaultMeta: { service: 'checkout' },
  transports: [new winston.transports.File({ filename: 'sample.log', options: { flags: 'w' } }), new KeyTransport()],
});
let seed = 777;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const pick = (a) => a[Math.floor(rnd() * a.length)];
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
for (let i = 0; i < 130; i++) {
  const k = Math.floor(rnd() * 20);
  if (k < 7) logger.info('order placed', { orderId: 5000 + i, total: Math.round(rnd() * 20000) / 100, currency: 'EUR' });
  else if (k < 9) logger.http(`${pick(['GET', 'POST'])} ${pick(['/cart', '/checkout', '/api/pay'])} ${pick([200, 302, 404])}`, { ip: `198.51.100.${Math.floor(rnd() * 250)}` });
  else if (k < 11) logger.debug('price rule evaluated', { rule: pick(['BLACKFRIDAY', 'FREESHIP']), matched: rnd() < 0.5 });
  else if (k < 12) logger.verbose('flushing metrics buffer', { size: Math.floor(rnd() * 500) });
  else if (k < 13) logger.silly('heartbeat', { seq: i });
  else if (k < 15) logger.warn('inventory low', { sku: `SKU-${Math.floor(rnd() * 9999)}`, left: Math.floor(rnd() * 3) });
  else if (k < 18) logger.error(new Error(pick(['Payment declined by issuer', 'connect ETIMEDOUT 192.0.2.40:5432', 'Cannot read properties of undefined (reading \'id\')'])));
  else logger.error('refund failed', { orderId: 4000 + i, reason: 'gateway returned 502' });
  if (rnd() < 0.75) sleep(Math.floor(rnd() * 80));
}
logger.on('finish', () => setTimeout(() => fs.writeFileSync('key.jsonl', keys.map((k) => JSON.stringify(k)).join('\n') + '\n'), 200));
logger.end();
