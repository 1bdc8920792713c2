const http = require('http');
const [port, ka, max] = process.argv.slice(2).map(Number);
const s = http.createServer((req, res) => res.end('ok\n'));
s.keepAliveTimeout = ka;
s.maxRequestsPerSocket = max;
s.listen(port, '127.0.0.1');
