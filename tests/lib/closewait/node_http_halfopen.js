// SPDX-License-Identifier: MIT
// A Node http server with httpAllowHalfOpen whose handler never ends the
// response (a backend that never answers): after the client's FIN, Node
// keeps the socket for the pending response.   node node_http_halfopen.js PORT
const http = require('http');
const srv = http.createServer((req, res) => { /* res.end() never comes */ });
srv.httpAllowHalfOpen = true;
srv.listen(+process.argv[2], '127.0.0.1');
