// Drives a chat cluster from outside Go: it starts a broker (nats-server
// or redis-server) and three chat nodes on it, as three `go run
// ./examples/chat -broker URL` would be, and checks them with clients of
// the ws package (Node.js): room and direct messages across nodes exactly
// once and in order, presence after joins, leaves and disconnections, a
// name on two nodes, the broker restarted mid-run and a node killed with
// SIGKILL. It prints one line per check and ends with "N passed, M
// failed"; it exits non-zero if any check failed.
//
//	npm ci
//	node cluster.mjs --chat /tmp/chat --broker nats --server /tmp/nats-server
//	node cluster.mjs --chat /tmp/chat --broker redis --server /usr/bin/redis-server
import { spawn } from 'node:child_process';
import net from 'node:net';
import process from 'node:process';
import readline from 'node:readline';
import WebSocket from 'ws';

const opts = {};
for (let i = 2; i < process.argv.length; i += 2) {
  opts[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
if (!opts.chat || !['nats', 'redis'].includes(opts.broker) || !opts.server) {
  console.error('usage: node cluster.mjs --chat CHAT_BINARY --broker nats|redis --server BROKER_BINARY');
  process.exit(2);
}

const WAIT = 10_000;
let passed = 0;
let failed = 0;
const children = new Set();

function pass(name, detail = '') {
  passed++;
  console.log(`PASS ${name}${detail ? ': ' + detail : ''}`);
}

function fail(name, err) {
  failed++;
  console.log(`FAIL ${name}: ${err?.message ?? err}`);
}

function finish(code) {
  for (const c of children) c.kill('SIGKILL');
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code ?? (failed ? 1 : 0));
}

// The whole run is bounded even if a check's own bounds fail to fire.
setTimeout(() => {
  fail('run', 'gave up after 240 s');
  finish(1);
}, 240_000).unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// until polls f until it returns a truthy value, failing after ms.
async function until(what, f, ms = WAIT) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function listening(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

function start(bin, args) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.exited = new Promise((r) => child.once('exit', () => { children.delete(child); r(); }));
  return child;
}

async function kill(child) {
  child.kill('SIGKILL');
  await child.exited;
}

// Broker is the broker server, which can be stopped and started again on
// the same port.
class Broker {
  constructor(port) {
    this.port = port;
    this.url = `${opts.broker}://127.0.0.1:${port}`;
  }

  async start() {
    const args = opts.broker === 'nats'
      ? ['-a', '127.0.0.1', '-p', String(this.port)]
      : ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    this.child = start(opts.server, args);
    this.child.stdout.resume();
    this.child.stderr.resume();
    await until(`${opts.broker} on port ${this.port}`, () => listening(this.port));
  }

  stop() { return kill(this.child); }
}

// startNode runs a chat node and resolves to its address once it listens.
function startNode(url) {
  const child = start(opts.chat, ['-addr', '127.0.0.1:0', '-broker', url]);
  child.stdout.resume();
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stderr });
    lines.on('line', (line) => {
      const m = line.match(/open http:\/\/([0-9.:]+)\//);
      if (m) resolve({ addr: m[1], child });
    });
    child.exited.then(() => reject(new Error('a chat node exited')));
  });
}

// Client is one chat user: it keeps what the server sends, and lets a
// check wait for the next message that matches.
class Client {
  static open(addr, name) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${addr}/ws?name=${encodeURIComponent(name)}`, { handshakeTimeout: WAIT });
      ws.once('open', () => resolve(new Client(ws, name)));
      ws.once('error', reject);
    });
  }

  constructor(ws, name) {
    this.ws = ws;
    this.name = name;
    this.listeners = new Set();
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      for (const l of this.listeners) l(m);
    });
  }

  send(obj) { this.ws.send(JSON.stringify(obj)); }

  // next resolves to the next message for which match is true.
  next(match, ms = WAIT) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.listeners.delete(l); reject(new Error(`${this.name}: no message within ${ms} ms`)); }, ms);
      const l = (m) => {
        if (!match(m)) return;
        clearTimeout(timer);
        this.listeners.delete(l);
        resolve(m);
      };
      this.listeners.add(l);
    });
  }

  async who(room) {
    const answer = this.next((m) => m.members && m.room === room);
    this.send({ who: room });
    return (await answer).members;
  }

  close() { this.ws.terminate(); }
}

// Sequence checks that the messages "SENDER N" of one stream count up from
// 0, each once; with gaps allowed, only order and uniqueness.
class Sequence {
  constructor(gaps = false) { this.gaps = gaps; this.next = new Map(); this.count = 0; this.error = null; }

  add(key, text) {
    const [sender, n] = text.split(' ');
    const k = `${key} ${sender}`;
    const want = this.next.get(k) ?? 0;
    const got = Number(n);
    if (got === want || (this.gaps && got > want)) {
      this.next.set(k, got + 1);
      this.count++;
    } else if (!this.error) {
      this.error = new Error(`${k}: got ${got}, want ${want}: a message lost, repeated or out of order`);
    }
  }
}

async function waitWho(client, room, want, ms = WAIT) {
  const w = JSON.stringify([...want].sort());
  let got;
  await until(`members of ${room} via ${client.name} to be ${w} (last ${JSON.stringify(got)})`, async () => {
    got = await client.who(room);
    return JSON.stringify(got) === w;
  }, ms);
}

async function check(name, f) {
  try {
    pass(name, await f());
  } catch (err) {
    fail(name, err);
  }
}

const broker = new Broker(await freePort());
await broker.start();
const nodes = [];
for (let i = 0; i < 3; i++) nodes.push(await startNode(broker.url));
const users = [];
for (let i = 0; i < 6; i++) users.push(await Client.open(nodes[Math.floor(i / 2)].addr, `u${i}`));
const all = users.map((u) => u.name);
// One user per node asks: every node must know every member.
const askers = [users[0], users[2], users[4]];

await check('presence after joins, on every node', async () => {
  for (const u of users) {
    const joined = u.next((m) => m.room === 'r' && m.message === `${u.name} joined r`);
    u.send({ join: 'r' });
    await joined;
  }
  for (const a of askers) await waitWho(a, 'r', all);
});

await check('room and direct messages across nodes exactly once, in order', async () => {
  const N = 1000;
  const senders = [0, 2, 4];
  const dmTo = { 0: 3, 2: 5, 4: 1 };
  const seqs = users.map(() => new Sequence());
  const want = users.map((_, i) => senders.length * N + (Object.values(dmTo).includes(i) ? N : 0) + (senders.includes(i) ? N : 0));
  const done = users.map((u, i) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${u.name}: ${seqs[i].count} of ${want[i]} messages after 60 s`)), 60_000);
    u.listeners.add((m) => {
      if (m.room === 'r' && m.from !== 'server') seqs[i].add('room', m.message);
      else if (m.to) seqs[i].add(m.from === u.name ? 'copy' : 'direct', m.message);
      else return;
      if (seqs[i].error) { clearTimeout(timer); reject(seqs[i].error); }
      if (seqs[i].count === want[i]) { clearTimeout(timer); resolve(); }
    });
  }));
  const start = Date.now();
  for (let k = 0; k < N; k++) {
    for (const i of senders) {
      users[i].send({ room: 'r', message: `u${i} ${k}` });
      users[i].send({ to: `u${dmTo[i]}`, message: `u${i} ${k}` });
    }
  }
  await Promise.all(done);
  return `${senders.length * N} room and ${senders.length * N} direct messages, ${want.reduce((a, b) => a + b)} deliveries in ${Date.now() - start} ms`;
});

await check('presence after a leave and a disconnection', async () => {
  users[1].send({ leave: 'r' });
  users[5].close();
  for (const a of askers) await waitWho(a, 'r', ['u0', 'u2', 'u3', 'u4']);
});

await check('a name on two nodes belongs to the newest connection', async () => {
  const first = await Client.open(nodes[0].addr, 'dup');
  first.send({ join: 'd' });
  await waitWho(users[4], 'd', ['dup']);
  const second = await Client.open(nodes[1].addr, 'dup');
  const { code, reason } = await first.closed;
  if (code !== 1008 || reason !== 'name taken by a new connection') {
    throw new Error(`the first connection closed with ${code} "${reason}", want 1008`);
  }
  await waitWho(users[4], 'd', []);
  const dm = second.next((m) => m.message === 'which dup?');
  users[4].send({ to: 'dup', message: 'which dup?' });
  await dm;
  second.close();
});

await check('the broker restarted mid-run', async () => {
  // u0 (node 0) sends to r every 5 ms; u0 hears itself on its own node,
  // u2, u3 (node 1) and u4 (node 2) across nodes.
  const listeners = [users[0], users[2], users[3], users[4]].map((u, i) => {
    const seq = new Sequence(i > 0);
    const got = [];
    u.listeners.add((m) => {
      if (m.room !== 'r' || m.from !== 'u0') return;
      seq.add('restart', m.message.replace('restart ', ''));
      got.push({ n: Number(m.message.split(' ')[2]), at: Date.now() });
    });
    return { u, seq, got };
  });
  let k = 0;
  const sent = [];
  const sender = setInterval(() => {
    users[0].send({ room: 'r', message: `restart u0 ${k}` });
    sent.push(Date.now());
    k++;
  }, 5);
  await sleep(300);
  await broker.stop();
  const stopped = k;
  const late = await Client.open(nodes[2].addr, 'late');
  late.send({ join: 'r' });
  await sleep(2000);
  const local = listeners[0].got.filter((g) => g.n >= stopped).length;
  if (local < 100) throw new Error(`while the broker was down u0 heard ${local} of its own messages on its own node`);
  await broker.start();
  const restartedAt = Date.now();
  const resumed = k;
  await until('a message sent after the restart to reach node 1', () => listeners[1].got.some((g) => g.n >= resumed));
  const across = Date.now() - restartedAt;
  for (const a of askers) await waitWho(a, 'r', ['late', 'u0', 'u2', 'u3', 'u4']);
  const presence = Date.now() - restartedAt;
  clearInterval(sender);
  const last = k - 1;
  // Bounded generously: what is measured against 10 s is the resumption
  // above; this only waits for the tail on a busy machine.
  await until('the last message everywhere', () => listeners.every((l) => l.got.some((g) => g.n === last)), 30_000);
  for (const l of listeners) if (l.seq.error) throw l.seq.error;
  if (listeners[0].got.length !== k) throw new Error(`u0 heard ${listeners[0].got.length} of its ${k} messages`);
  late.close();
  return `${k} messages; across nodes again ${across} ms and presence whole ${presence} ms after the restart; u0 heard all ${k}`;
});

await check('a node killed with SIGKILL is forgotten within 10 s', async () => {
  const killedAt = Date.now();
  await kill(nodes[2].child);
  for (const a of [users[0], users[2]]) await waitWho(a, 'r', ['u0', 'u2', 'u3'], 10_000);
  return `after ${Date.now() - killedAt} ms`;
});

for (const u of users) u.close();
finish();
