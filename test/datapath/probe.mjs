// Traffic probe run inside a test netns (node test/datapath/probe.mjs …):
//   serve <tcpPorts,comma> <udpPorts,comma>   TCP servers that write "hi", UDP echo (IPv4+IPv6)
//   tcp <host> <port>                         prints "ok" if the connection completes and data arrives
//   udp <host> <port> [bytes]                 prints "ok" if the datagram (default "ping") is echoed
//                                             back whole
//   push <port>                               TCP server that writes "T" every 100 ms to every
//                                             connection and answers every chunk it reads with "P"
//   chat <host> <port> <ms>                   connects, writes "x" every 100 ms for <ms>, prints
//                                             "T <ms>" / "P <ms>" per byte received (ms since start)
// Exit code 0 either way; failures print "fail <reason>". Timeout: 600 ms.
import dgram from 'node:dgram';
import net from 'node:net';

const [mode, a, b] = process.argv.slice(2);
const done = (msg) => { process.stdout.write(`${msg}\n`); process.exit(0); };

if (mode === 'serve') {
  for (const p of (a ?? '').split(',').filter(Boolean)) {
    net.createServer((s) => { s.end('hi'); s.on('error', () => {}); }).listen(Number(p), '::');
  }
  for (const p of (b ?? '').split(',').filter(Boolean)) {
    const sock = dgram.createSocket({ type: 'udp6', ipv6Only: false });
    sock.on('message', (m, r) => sock.send(m, r.port, r.address));
    sock.bind(Number(p), '::');
  }
  process.stdout.write('ready\n');
} else if (mode === 'tcp') {
  const s = net.connect({ host: a, port: Number(b) });
  const t = setTimeout(() => done('fail timeout'), 600);
  s.on('data', () => { clearTimeout(t); done('ok'); });
  s.on('error', (e) => { clearTimeout(t); done(`fail ${e.code}`); });
} else if (mode === 'udp') {
  const sock = dgram.createSocket(net.isIPv6(a) ? 'udp6' : 'udp4');
  const t = setTimeout(() => done('fail timeout'), 600);
  const size = process.argv[5];
  const msg = size === undefined ? Buffer.from('ping') : Buffer.alloc(Number(size), 0x61);
  sock.on('message', (m) => { clearTimeout(t); done(m.length === msg.length ? 'ok' : `fail ${m.length} of ${msg.length} bytes`); });
  sock.send(msg, Number(b), a);
} else if (mode === 'push') {
  net.createServer((s) => {
    const t = setInterval(() => s.write('T'), 100);
    s.on('data', () => s.write('P'));
    s.on('error', () => clearInterval(t));
    s.on('close', () => clearInterval(t));
  }).listen(Number(a), '::');
  process.stdout.write('ready\n');
} else if (mode === 'chat') {
  const started = Date.now();
  const s = net.connect({ host: a, port: Number(b) });
  const ms = process.argv[5];
  s.on('connect', () => {
    process.stdout.write('connected\n');
    const t = setInterval(() => s.write('x'), 100);
    setTimeout(() => { clearInterval(t); done('end'); }, Number(ms));
  });
  s.on('data', (d) => {
    for (const c of d.toString()) process.stdout.write(`${c} ${Date.now() - started}\n`);
  });
  s.on('error', (e) => done(`fail ${e.code}`));
} else {
  done(`fail unknown mode ${mode}`);
}
