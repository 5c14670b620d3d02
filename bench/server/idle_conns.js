// Opens COUNT keep-alive connections to jwtd, sends one GET /healthz on each, reads its answer
// and then leaves every connection open and idle, for scripts/bench-load.sh to read the server's
// memory. Prints "ready OPEN FAILED" once every connection is answered (or failed), then holds them
// until stdin closes or SIGTERM. Bounded: it gives up DEADLINE_S seconds after the start.
// Usage: node idle_conns.js HOST PORT COUNT DEADLINE_S
'use strict';
const net = require('net');

const [host, portText, countText, deadlineText] = process.argv.slice(2);
const port = Number(portText), count = Number(countText), deadline = Number(deadlineText);
if (!host || !(port > 0) || !(count > 0) || !(deadline > 0)) {
    process.stderr.write('usage: node idle_conns.js HOST PORT COUNT DEADLINE_S\n');
    process.exit(2);
}
const PENDING_MAX = 256; // connections being opened at once (the listen backlog is finite)
const request = `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
const sockets = [];
let started = 0, answered = 0, failed = 0, pending = 0, reported = false;

function report() {
    if (reported || answered + failed < count) return;
    reported = true;
    clearTimeout(timer);
    process.stdout.write(`ready ${answered} ${failed}\n`);
}

function openOne() {
    started++;
    pending++;
    let done = false;
    const s = net.connect({ host, port });
    const finish = (ok) => {
        if (done) return;
        done = true;
        pending--;
        if (ok) answered++; else failed++;
        pump();
        report();
    };
    let head = '';
    s.setNoDelay(true);
    s.on('connect', () => s.write(request));
    s.on('data', (d) => {
        head += d.toString('latin1');
        // One small JSON answer: done when the head and the Content-Length body are in.
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const m = /content-length:\s*(\d+)/i.exec(head.slice(0, end));
        if (m && head.length >= end + 4 + Number(m[1])) finish(/^HTTP\/1\.1 200 /.test(head));
    });
    s.on('error', () => finish(false));
    s.on('close', () => { if (!done) finish(false); });
    sockets.push(s);
}

function pump() {
    while (started < count && pending < PENDING_MAX) openOne();
}

const timer = setTimeout(() => {
    process.stderr.write(`idle_conns: deadline: ${answered} answered, ${failed} failed of ${count}\n`);
    process.exit(1);
}, deadline * 1000);
const quit = () => { for (const s of sockets) s.destroy(); process.exit(0); };
process.on('SIGTERM', quit);
process.stdin.on('end', quit);
process.stdin.resume();
pump();
