// node_echo.js - Node.js TLS echo server for `make bench` (same certificate, TLS 1.2, tickets on).
// Usage: node node_echo.js PORT CERT.pem KEY.pem
'use strict';
const tls = require('tls');
const fs = require('fs');
const [port, cert, key] = process.argv.slice(2);
const server = tls.createServer({
  cert: fs.readFileSync(cert),
  key: fs.readFileSync(key),
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.2', // the same protocol as mbedTLS 2.28 on our side
}, (socket) => {
  socket.setNoDelay(true);
  socket.pipe(socket);
  socket.on('error', () => socket.destroy());
});
server.listen(Number(port), '127.0.0.1', () => console.error(`node_echo: listening on ${port}`));
process.on('SIGTERM', () => process.exit(0));
