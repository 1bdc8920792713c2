// SPDX-License-Identifier: MIT
// A Node http.Agent with keepAlive: N concurrent requests, then the pool
// idles.   node node_agent.js URL N     prints "ready" when all are done
const http = require('http');
const n = +process.argv[3];
const agent = new http.Agent({keepAlive: true, maxSockets: n});
let done = 0;
for (let i = 0; i < n; i++)
  http.get(process.argv[2], {agent}, (res) => {
    res.resume();
    res.on('end', () => { if (++done === n) console.log('ready'); });
  });
setInterval(() => {}, 1000);
