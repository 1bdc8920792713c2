// SPDX-License-Identifier: MIT
// A Node server with allowHalfOpen: true that answers and never ends the
// socket after the client's 'end'.   node node_halfopen.js PORT
const net = require('net');
net.createServer({allowHalfOpen: true}, (sock) => {
  sock.on('data', () => sock.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n'));
  sock.on('end', () => { /* forgot sock.end() */ });
}).listen(+process.argv[2], '127.0.0.1');
