// Traffic probe run inside a test netns (node test/datapath/probe.mjs …):
//   serve <tcpPorts,comma> <udpPorts,comma>   TCP servers that write "hi", UDP echo (IPv4+IPv6)
//   tcp <host> <port>                         prints "ok" if the connection completes and data arrives
//   udp <host> <port>                         prints "ok" if the datagram is echoed back
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
  sock.on('message', () => { clearTimeout(t); done('ok'); });
  sock.send('ping', Number(b), a);
} else {
  done(`fail unknown mode ${mode}`);
}
