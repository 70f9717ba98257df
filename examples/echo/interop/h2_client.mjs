// Checks a gws echo server's WebSockets over HTTP/2 (RFC 8441) with
// Node's built-in http2 client, which knows nothing of WebSockets: the
// extended CONNECT and the frames, masked as a client must, are written
// here by hand. Every message must come back byte for byte.
//
//   node h2_client.mjs https://127.0.0.1:9001/
//
// The server's certificate is not checked (the echo server's -tls makes
// its own). The last line is "N passed, M failed".
import http2 from "node:http2";
import { randomBytes } from "node:crypto";

const target = new URL(process.argv[process.argv.length - 1]);
let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}: ${detail}`);
  }
}

// frame encodes one client frame: FIN, opcode, a 7/16/64-bit length, a
// random masking key and the masked payload (RFC 6455 §5.2, §5.3).
function frame(opcode, payload, fin = true) {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.alloc(head + 4 + n);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (n < 126) {
    out[1] = 0x80 | n;
  } else if (n < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  const key = randomBytes(4);
  key.copy(out, head);
  for (let i = 0; i < n; i++) out[head + 4 + i] = payload[i] ^ key[i & 3];
  return out;
}

// Reader turns the response body into server frames, which must be
// unmasked, and hands each to whoever awaits next().
class Reader {
  constructor(stream) {
    this.buf = Buffer.alloc(0);
    this.frames = [];
    this.waiters = [];
    this.ended = false;
    stream.on("data", (d) => { this.buf = Buffer.concat([this.buf, d]); this.parse(); });
    stream.on("end", () => { this.ended = true; this.wake(); });
    stream.on("close", () => { this.ended = true; this.wake(); });
  }
  parse() {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      let n = b[1] & 0x7f, off = 2;
      if (n === 126) { if (b.length < 4) return; n = b.readUInt16BE(2); off = 4; }
      else if (n === 127) { if (b.length < 10) return; n = Number(b.readBigUInt64BE(2)); off = 10; }
      if (b[1] & 0x80) throw new Error("the server sent a masked frame");
      if (b.length < off + n) return;
      this.frames.push({ fin: !!(b[0] & 0x80), opcode: b[0] & 0x0f, payload: b.subarray(off, off + n) });
      this.buf = b.subarray(off + n);
      this.wake();
    }
  }
  wake() { for (const w of this.waiters.splice(0)) w(); }
  async next(ms = 10000) {
    const deadline = Date.now() + ms;
    while (this.frames.length === 0) {
      if (this.ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${ms} ms`);
      await new Promise((r) => { this.waiters.push(r); setTimeout(r, left); });
    }
    return this.frames.shift();
  }
  // message reassembles one data message from its frames.
  async message() {
    const first = await this.next();
    if (!first) return null;
    const parts = [first.payload];
    let f = first;
    while (!f.fin) {
      f = await this.next();
      parts.push(f.payload);
    }
    return { opcode: first.opcode, payload: Buffer.concat(parts) };
  }
}

const session = http2.connect(target.origin, { rejectUnauthorized: false });
session.on("error", (e) => console.log(`session error: ${e.message}`));
await new Promise((resolve, reject) => {
  session.once("remoteSettings", resolve);
  session.once("error", reject);
});
check("the server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL", session.remoteSettings.enableConnectProtocol === true,
  JSON.stringify(session.remoteSettings));

const stream = session.request({
  ":method": "CONNECT",
  ":protocol": "websocket",
  ":scheme": "https",
  ":path": target.pathname,
  ":authority": target.host,
  "sec-websocket-version": "13",
}, { endStream: false });
const reader = new Reader(stream);
const headers = await new Promise((resolve, reject) => {
  stream.once("response", resolve);
  stream.once("error", reject);
});
check("the extended CONNECT is answered 200", headers[":status"] === 200, JSON.stringify(headers));
check("the answer has no Sec-WebSocket-Accept", !("sec-websocket-accept" in headers), JSON.stringify(headers));

async function echo(name, opcode, payload, fragments = 1) {
  const size = Math.ceil(payload.length / fragments);
  for (let i = 0; i < fragments; i++) {
    const part = payload.subarray(i * size, (i + 1) * size);
    stream.write(frame(i === 0 ? opcode : 0, part, i === fragments - 1));
  }
  const m = await reader.message();
  check(`${name} echoed byte for byte`, m && m.opcode === opcode && Buffer.compare(m.payload, payload) === 0,
    m ? `opcode ${m.opcode}, ${m.payload.length} bytes for ${payload.length}` : "the stream ended");
}

await echo("text", 1, Buffer.from("hello over HTTP/2"));
await echo("empty text", 1, Buffer.alloc(0));
await echo("UTF-8 text", 1, Buffer.from("héllo wörld ✓ 👋"));
await echo("binary 0..255", 2, Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
await echo("64 KiB binary", 2, randomBytes(65536));
await echo("1 MiB binary", 2, randomBytes(1 << 20));
await echo("text in 3 fragments", 1, Buffer.from("one, two, three: a fragmented message"), 3);

stream.write(frame(9, Buffer.from("ping!")));
const pong = await reader.next();
check("a ping is answered with a pong of the same payload", pong && pong.opcode === 10 && pong.payload.toString() === "ping!",
  JSON.stringify(pong && { opcode: pong.opcode, payload: pong.payload.toString() }));

const close = Buffer.alloc(5);
close.writeUInt16BE(1000, 0);
close.write("bye", 2);
stream.write(frame(8, close));
const answer = await reader.next();
check("close 1000 is answered with close 1000", answer && answer.opcode === 8 && answer.payload.readUInt16BE(0) === 1000,
  JSON.stringify(answer && { opcode: answer.opcode, payload: [...answer.payload] }));
stream.end();
const end = await reader.next(5000).catch((e) => e);
check("the server then ends the stream", end === null, String(end));
check("the stream ended without a reset", stream.rstCode === undefined || stream.rstCode === 0, `RST_STREAM code ${stream.rstCode}`);
session.close();

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
