// An interoperability check of a WebSocket echo server with the client of the
// `ws` package: an implementation that shares no code with gws, whose
// permessage-deflate is Node's zlib. It prints one line per check and ends
// with "N passed, M failed"; it exits non-zero if any check failed.
//
//	npm ci && node ws_client.mjs ws://127.0.0.1:9001/
//	npm ci && node ws_client.mjs --compress ws://127.0.0.1:9001/
//
// Without --compress the server must decline permessage-deflate; with it, it
// must accept every offer ws can make and keep to what it answered.
import crypto from 'node:crypto';
import process from 'node:process';
import WebSocket from 'ws';

const args = process.argv.slice(2);
const compress = args.includes('--compress');
const url = args.find((a) => !a.startsWith('--'));
if (!url || args.some((a) => a.startsWith('--') && a !== '--compress')) {
  console.error('usage: node ws_client.mjs [--compress] ws://host:port/path');
  process.exit(2);
}

const EVENT_TIMEOUT = 10_000;
const CHECK_TIMEOUT = 30_000;

// The whole run is bounded even if a check's own bounds fail to fire, so a
// caller never waits on a hung client.
setTimeout(() => {
  console.log('FAIL run: gave up after 240 s');
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}, 240_000).unref();

// Client wraps a ws connection so that a check can await its events in the
// order they arrived, each wait bounded.
class Client {
  static open(options = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { handshakeTimeout: EVENT_TIMEOUT, ...options });
      let response;
      ws.on('upgrade', (res) => { response = res; });
      ws.once('open', () => resolve(new Client(ws, response)));
      ws.once('error', reject);
    });
  }

  constructor(ws, response) {
    this.ws = ws;
    this.socket = response.socket;
    this.extensions = response.headers['sec-websocket-extensions'] ?? '';
    this.events = [];
    this.waiting = null;
    ws.on('message', (data, isBinary) => this.push({ type: 'message', data, isBinary }));
    ws.on('pong', (data) => this.push({ type: 'pong', data }));
    ws.on('error', (err) => this.push({ type: 'error', err }));
    ws.addEventListener('close', (ev) =>
      this.push({ type: 'close', code: ev.code, reason: ev.reason, wasClean: ev.wasClean }));
  }

  push(ev) {
    this.events.push(ev);
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w();
    }
  }

  // next returns the next event, which must be of the given type.
  async next(type) {
    if (this.events.length === 0) {
      let timer;
      await new Promise((resolve, reject) => {
        this.waiting = resolve;
        timer = setTimeout(() => reject(new Error(`no ${type} within ${EVENT_TIMEOUT} ms`)), EVENT_TIMEOUT);
      }).finally(() => clearTimeout(timer));
    }
    const ev = this.events.shift();
    if (ev.type !== type) throw new Error(`want ${type}, got ${describe(ev)}`);
    return ev;
  }

  send(data, options) {
    return new Promise((resolve, reject) =>
      this.ws.send(data, options, (err) => (err ? reject(err) : resolve())));
  }

  async echo(data, options = {}) {
    const binary = options.binary ?? typeof data !== 'string';
    await this.send(data, { ...options, binary });
    const ev = await this.next('message');
    expectMessage(ev, data, binary);
    return ev;
  }

  // close sends a close frame and waits for the server's answer and for it
  // to close the TCP connection; ws otherwise waits 30 s before giving up.
  async close(code, reason) {
    this.ws.close(code, reason);
    return this.next('close');
  }

  terminate() {
    this.ws.terminate();
  }
}

function describe(ev) {
  switch (ev.type) {
    case 'message': return `${ev.isBinary ? 'binary' : 'text'} message of ${ev.data.length} bytes`;
    case 'pong': return `pong of ${ev.data.length} bytes`;
    case 'error': return `error "${ev.err.message}"`;
    case 'close': return `close ${ev.code} "${ev.reason}"`;
    default: return ev.type;
  }
}

function expectMessage(ev, data, binary) {
  const want = Buffer.isBuffer(data) ? data : Buffer.from(data);
  if (ev.isBinary !== binary) {
    throw new Error(`echo came back ${ev.isBinary ? 'binary' : 'text'}, sent ${binary ? 'binary' : 'text'}`);
  }
  if (!ev.data.equals(want)) {
    throw new Error(`echo of ${want.length} bytes came back as ${ev.data.length} bytes, ` +
      `first difference at byte ${firstDifference(ev.data, want)}`);
  }
}

function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

async function withClient(options, fn) {
  const c = await Client.open(options);
  try {
    return await fn(c);
  } finally {
    c.terminate();
  }
}

let passed = 0;
let failed = 0;

async function check(name, fn) {
  let timer;
  try {
    const detail = await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${CHECK_TIMEOUT} ms`)), CHECK_TIMEOUT);
      }),
    ]);
    passed++;
    console.log(`ok   ${name}${detail ? ` (${detail})` : ''}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${err?.message ?? err}`);
  } finally {
    clearTimeout(timer);
  }
}

// utf8Text returns a string of exactly n bytes in UTF-8 that uses characters
// of every encoded length, so that frame and fragment boundaries fall inside
// multi-byte characters.
function utf8Text(n) {
  const chars = ['a', 'é', '€', '😀', 'The quick brown fox ', 'κόσμε ', '\u{10FFFF}', '\uFFFD', '\uD7FF', '\uE000'];
  const parts = [];
  let left = n;
  for (let i = 0; left > 0; i++) {
    const c = chars[i % chars.length];
    const size = Buffer.byteLength(c);
    const piece = size <= left ? c : 'a'.repeat(left);
    parts.push(piece);
    left -= Buffer.byteLength(piece);
  }
  return parts.join('');
}

// proseText is compressible text of exactly n bytes.
function proseText(n) {
  const line = 'gws echoes every message back; zlib inflates what gws deflated. ';
  return line.repeat(Math.ceil(n / line.length) + 1).slice(0, n);
}

// periodic returns n bytes made of one random block of period bytes,
// repeated: its only long matches lie exactly period bytes back, so a
// compressor that ignores a window smaller than period refers beyond it.
function periodic(period, n) {
  const block = crypto.randomBytes(period);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += period) block.copy(out, i, 0, Math.min(period, n - i));
  return out;
}

const SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20];

// The base checks run on a connection without compression, or, with
// --compress, on one where ws compresses everything it sends.
const baseOptions = compress ? { perMessageDeflate: { threshold: 0 } } : { perMessageDeflate: false };

async function baseChecks() {
  if (compress) {
    await check('handshake: default offer accepted', () =>
      withClient(baseOptions, async (c) => {
        if (!c.extensions.startsWith('permessage-deflate')) {
          throw new Error(`server answered Sec-WebSocket-Extensions "${c.extensions}"`);
        }
        return `answer "${c.extensions}"`;
      }));
  } else {
    await check('handshake: permessage-deflate offer declined', () =>
      withClient({ perMessageDeflate: true }, async (c) => {
        if (c.extensions !== '') throw new Error(`server answered Sec-WebSocket-Extensions "${c.extensions}"`);
        await c.echo(proseText(5000));
      }));
  }

  await check('handshake: Sec-WebSocket-Version 8 refused with 426', () =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { protocolVersion: 8, perMessageDeflate: false, handshakeTimeout: EVENT_TIMEOUT });
      ws.on('error', (err) => reject(err));
      ws.on('open', () => { ws.terminate(); reject(new Error('server accepted version 8')); });
      ws.on('unexpected-response', (req, res) => {
        res.resume();
        ws.removeAllListeners('error');
        ws.on('error', () => {});
        req.destroy();
        const version = res.headers['sec-websocket-version'];
        if (res.statusCode !== 426 || version !== '13') {
          reject(new Error(`got ${res.statusCode} with Sec-WebSocket-Version "${version}"`));
        } else {
          resolve(`426, Sec-WebSocket-Version: ${version}`);
        }
      });
    }));

  for (const size of SIZES) {
    await check(`echo text ${size} bytes`, () => withClient(baseOptions, (c) => c.echo(utf8Text(size)).then(() => {})));
    await check(`echo binary ${size} bytes`, () =>
      withClient(baseOptions, (c) => c.echo(crypto.randomBytes(size)).then(() => {})));
  }

  await check('echo text with every UTF-8 sequence length and the code point limits', () =>
    withClient(baseOptions, (c) => c.echo('\u0000\u007F\u0080\u07FF\u0800\uD7FF\uE000\uFFFD\uFFFF\u{10000}\u{10FFFF} κόσμε').then(() => {})));

  await check('echo 200 messages sent back to back, in order', () =>
    withClient(baseOptions, async (c) => {
      const sent = [];
      for (let i = 0; i < 200; i++) {
        const binary = i % 3 === 0;
        const data = binary ? crypto.randomBytes(i * 7) : utf8Text(i * 5);
        sent.push({ data, binary });
        c.ws.send(data, { binary });
      }
      for (const [i, m] of sent.entries()) {
        const ev = await c.next('message');
        try {
          expectMessage(ev, m.data, m.binary);
        } catch (err) {
          throw new Error(`message ${i}: ${err.message}`);
        }
      }
    }));

  await check('fragmented text, fragments split inside multi-byte characters', () =>
    withClient(baseOptions, async (c) => {
      const whole = Buffer.from(utf8Text(4000));
      const cuts = [0, 1, 4, 6, 1000, 1003, 3999, 4000];
      for (let i = 0; i + 1 < cuts.length; i++) {
        c.ws.send(whole.subarray(cuts[i], cuts[i + 1]), { binary: false, fin: i + 2 === cuts.length });
      }
      expectMessage(await c.next('message'), whole, false);
      return `${cuts.length - 1} fragments`;
    }));

  await check('fragmented binary with an empty middle fragment and a 70000-byte one', () =>
    withClient(baseOptions, async (c) => {
      const parts = [crypto.randomBytes(10), Buffer.alloc(0), crypto.randomBytes(70000), crypto.randomBytes(1)];
      parts.forEach((p, i) => c.ws.send(p, { binary: true, fin: i + 1 === parts.length }));
      expectMessage(await c.next('message'), Buffer.concat(parts), true);
    }));

  await check('pings between the fragments of a message answered first', () =>
    withClient(baseOptions, async (c) => {
      const parts = ['first ', 'second ', 'third'];
      c.ws.send(parts[0], { fin: false });
      c.ws.ping('ping 1');
      c.ws.send(parts[1], { fin: false });
      c.ws.ping('ping 2');
      c.ws.send(parts[2], { fin: true });
      for (const want of ['ping 1', 'ping 2']) {
        const ev = await c.next('pong');
        if (ev.data.toString() !== want) throw new Error(`pong "${ev.data}", want "${want}"`);
      }
      expectMessage(await c.next('message'), parts.join(''), false);
    }));

  for (const [label, payload] of [
    ['empty', Buffer.alloc(0)],
    ['1-byte', Buffer.from('x')],
    ['125-byte binary', crypto.randomBytes(125)],
    ['125-byte UTF-8', Buffer.from(utf8Text(125))],
  ]) {
    await check(`ping with ${label} payload answered by a pong with the same payload`, () =>
      withClient(baseOptions, async (c) => {
        c.ws.ping(payload);
        const ev = await c.next('pong');
        if (!ev.data.equals(payload)) throw new Error(`pong payload of ${ev.data.length} bytes differs`);
      }));
  }

  for (const [code, reason] of [
    [1000, 'bye'],
    [3000, 'registered code, UTF-8 reason: κόσμε 😀'],
    [4999, 'r'.repeat(123)],
  ]) {
    // RFC 6455 section 5.5.1 has the answer "typically" echo the code and
    // says nothing of the reason, so an echoed reason is reported, not
    // required; ws has checked that whatever came back is UTF-8.
    await check(`close ${code} with a ${Buffer.byteLength(reason)}-byte reason: code echoed, then TCP closed`, () =>
      withClient(baseOptions, async (c) => {
        await c.echo('before close');
        const ev = await c.close(code, reason);
        if (ev.code !== code || !ev.wasClean) {
          throw new Error(`server answered close ${ev.code} "${ev.reason.slice(0, 40)}" (clean: ${ev.wasClean})`);
        }
        if (ev.reason === reason) return 'reason echoed too';
        return ev.reason === '' ? 'answered without a reason' : `answered with reason "${ev.reason.slice(0, 40)}"`;
      }));
  }

  await check('close without a status code answered, then TCP closed', () =>
    withClient(baseOptions, async (c) => {
      const ev = await c.close();
      if ((ev.code !== 1005 && ev.code !== 1000) || !ev.wasClean) {
        throw new Error(`server answered close ${ev.code} "${ev.reason}" (clean: ${ev.wasClean})`);
      }
      return ev.code === 1005 ? 'answered with an empty close' : 'answered with 1000';
    }));

  // ws sends a Buffer as a text frame without checking it when told the
  // data is not binary, which is how these reach the server.
  const invalid = Buffer.from('cebae1bdb9cf83cebcceb5eda080656469746564', 'hex'); // κόσμε, a surrogate, "edited"
  await check('text with invalid UTF-8 (a surrogate) closed with 1007', () =>
    withClient(baseOptions, async (c) => {
      await c.send(invalid, { binary: false });
      const ev = await c.next('close');
      if (ev.code !== 1007) throw new Error(`server answered close ${ev.code} "${ev.reason}"`);
    }));

  // Sent uncompressed even with --compress: a compressed fragment may be
  // inflated only once the message is whole, and RFC 6455 does not ask more.
  await check('invalid UTF-8 in the first fragment of an unfinished text closed with 1007 at once', () =>
    withClient(baseOptions, async (c) => {
      await c.send(Buffer.concat([Buffer.from('valid start '), Buffer.from([0xf4, 0x90, 0x80, 0x80])]),
        { binary: false, fin: false, compress: false });
      const ev = await c.next('close');
      if (ev.code !== 1007) throw new Error(`server answered close ${ev.code} "${ev.reason}"`);
    }));

  await check('text ending inside a multi-byte character closed with 1007', () =>
    withClient(baseOptions, async (c) => {
      c.ws.send(Buffer.from('complete κ'), { binary: false, fin: false });
      await c.send(Buffer.from([0xce]), { binary: false, fin: true });
      const ev = await c.next('close');
      if (ev.code !== 1007) throw new Error(`server answered close ${ev.code} "${ev.reason}"`);
    }));
}

// offerOf is the Sec-WebSocket-Extensions header ws sends for these options,
// in ws's own order, for the check's name.
function offerOf(o) {
  const p = ['permessage-deflate'];
  if (o.serverNoContextTakeover) p.push('server_no_context_takeover');
  if (o.clientNoContextTakeover) p.push('client_no_context_takeover');
  if (o.serverMaxWindowBits) p.push(`server_max_window_bits=${o.serverMaxWindowBits}`);
  if (o.clientMaxWindowBits) p.push(`client_max_window_bits=${o.clientMaxWindowBits}`);
  else if (o.clientMaxWindowBits == null) p.push('client_max_window_bits');
  return p.join('; ');
}

// parseAnswer reads the server's Sec-WebSocket-Extensions (RFC 7692 section
// 5), refusing anything that is not one permessage-deflate with each
// parameter at most once.
function parseAnswer(header) {
  const extensions = header.split(',').map((s) => s.trim()).filter(Boolean);
  if (extensions.length !== 1) throw new Error(`answer "${header}" is not exactly one extension`);
  const [name, ...params] = extensions[0].split(';').map((s) => s.trim());
  if (name !== 'permessage-deflate') throw new Error(`answer "${header}" is not permessage-deflate`);
  const out = {};
  for (const p of params) {
    const [key, raw] = p.split('=').map((s) => s.trim());
    if (key in out) throw new Error(`answer "${header}" repeats ${key}`);
    out[key] = raw === undefined ? true : Number(raw.replace(/^"(.*)"$/, '$1'));
  }
  return out;
}

// negotiationProblems lists where the answer breaks RFC 7692 section 7
// for this offer.
function negotiationProblems(offer, answer) {
  const problems = [];
  const known = ['server_no_context_takeover', 'client_no_context_takeover', 'server_max_window_bits', 'client_max_window_bits'];
  for (const key of Object.keys(answer)) if (!known.includes(key)) problems.push(`unknown parameter ${key}`);
  if (offer.serverNoContextTakeover && answer.server_no_context_takeover !== true) {
    problems.push('server_no_context_takeover offered but not in the answer');
  }
  for (const key of ['server_no_context_takeover', 'client_no_context_takeover']) {
    if (key in answer && answer[key] !== true) problems.push(`${key} has a value`);
  }
  const smwb = answer.server_max_window_bits;
  if (offer.serverMaxWindowBits) {
    if (!Number.isInteger(smwb) || smwb < 8 || smwb > offer.serverMaxWindowBits) {
      problems.push(`server_max_window_bits=${offer.serverMaxWindowBits} offered, answered ${smwb}`);
    }
  } else if (smwb !== undefined) {
    problems.push('server_max_window_bits answered but not offered');
  }
  const cmwb = answer.client_max_window_bits;
  if (cmwb !== undefined) {
    if (offer.clientMaxWindowBits === false) problems.push('client_max_window_bits answered but not offered');
    const limit = typeof offer.clientMaxWindowBits === 'number' ? offer.clientMaxWindowBits : 15;
    if (!Number.isInteger(cmwb) || cmwb < 8 || cmwb > limit) problems.push(`client_max_window_bits answered ${cmwb}`);
  }
  return problems;
}

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

const VARIANTS = [
  {},
  { clientMaxWindowBits: false },
  { serverNoContextTakeover: true },
  { clientNoContextTakeover: true },
  { serverNoContextTakeover: true, clientNoContextTakeover: true },
  ...range(8, 15).map((b) => ({ serverMaxWindowBits: b })),
  ...range(8, 15).map((b) => ({ clientMaxWindowBits: b })),
  { serverNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: 8 },
  { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
  { clientNoContextTakeover: true, serverMaxWindowBits: 11, clientMaxWindowBits: 12 },
];

async function deflateChecks() {
  for (const variant of VARIANTS) {
    const offer = offerOf(variant);
    // zlib checks a back-reference against its window only when it points
    // before the output of the current inflate call, so inflating in small
    // calls makes any reference more than chunkSize bytes beyond the
    // negotiated window fail with "invalid distance too far back". The
    // offered server window sets the call size (64 bytes, zlib's least, up
    // to 2^(bits-4)) rather than the answered one, which is known only once
    // connected; small calls are slow, hence the smaller messages there too.
    const offeredBits = variant.serverMaxWindowBits ?? 15;
    const chunkSize = Math.max(64, 1 << (offeredBits - 4));
    const big = offeredBits < 15 ? 20000 : 70000;
    await check(`deflate "${offer}"`, () =>
      withClient({ perMessageDeflate: { ...variant, threshold: 0, zlibInflateOptions: { chunkSize } } }, async (c) => {
        if (!c.extensions) throw new Error('server declined the offer');
        const answer = parseAnswer(c.extensions);
        const problems = negotiationProblems(variant, answer);
        if (problems.length) throw new Error(`answer "${c.extensions}": ${problems.join('; ')}`);
        const serverBits = answer.server_max_window_bits ?? 15;

        // Each message goes twice: the second copy tempts either side to
        // refer back into the first, which zlib refuses from the server
        // under server_no_context_takeover and beyond the window, and which
        // gws must follow under client context takeover. (zlib itself never
        // refers more than 2^bits - 262 bytes back, so ws's messages cannot
        // probe the edge of gws's window: only the server's side is checked
        // against the window.)
        const messages = [];
        for (const n of [0, 1, 200, 5000, big]) messages.push({ data: proseText(n), what: `text ${n}` });
        for (const n of [1, 300, 5000, big]) messages.push({ data: crypto.randomBytes(n), what: `random ${n}` });
        const period = (1 << serverBits) + chunkSize + 36;
        messages.push({ data: periodic(period, Math.min(3 * period, 100_000)), what: `period ${period}` });

        let ratio;
        for (const m of messages) {
          for (const copy of [1, 2]) {
            const before = c.socket.bytesRead;
            try {
              await c.echo(m.data);
            } catch (err) {
              throw new Error(`answer "${c.extensions}", ${m.what} (copy ${copy}): ${err.message}`);
            }
            if (m.what === `text ${big}` && copy === 1) ratio = (c.socket.bytesRead - before) / big;
          }
        }
        if (!(ratio < 0.9)) {
          throw new Error(`answer "${c.extensions}": ${big} bytes of text came back in ${ratio * big} bytes, uncompressed`);
        }

        const parts = [proseText(10000), utf8Text(10000), proseText(10000)];
        parts.forEach((p, i) => c.ws.send(p, { fin: i + 1 === parts.length }));
        try {
          expectMessage(await c.next('message'), parts.join(''), false);
          await c.echo(proseText(5000), { compress: false });
        } catch (err) {
          throw new Error(`answer "${c.extensions}", fragmented or uncompressed message: ${err.message}`);
        }
        const ev = await c.close(1000, 'done');
        if (ev.code !== 1000 || !ev.wasClean) throw new Error(`closing: server answered ${ev.code} (clean: ${ev.wasClean})`);
        return `answer "${c.extensions}", text ${big} sent back at ratio ${ratio.toFixed(3)}`;
      }));
  }

  await check('deflate: invalid UTF-8 in a compressed text closed with 1007', () =>
    withClient({ perMessageDeflate: { threshold: 0 } }, async (c) => {
      await c.send(Buffer.from('cebae1bdb9cf83cebcceb5eda080656469746564', 'hex'), { binary: false });
      const ev = await c.next('close');
      if (ev.code !== 1007) throw new Error(`server answered close ${ev.code} "${ev.reason}"`);
    }));
}

await baseChecks();
if (compress) await deflateChecks();
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
