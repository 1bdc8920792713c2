// SPDX-License-Identifier: MIT
// A referee from npm: undici's Client with HTTP/1.1 pipelining. Sends
// --requests GETs over one connection at a time, --pipelining in flight,
// and prints {"ok": N, "errors": N, "statuses": {...}, "codes": {...}}.
//   node undici_pipeline.js UNDICI_DIR URL REQUESTS PIPELINING
'use strict';
const [undiciDir, url, total, depth] = process.argv.slice(2);
const { Client } = require(undiciDir);

async function main() {
    const client = new Client(url, { pipelining: Number(depth), keepAliveTimeout: 10000 });
    const out = { ok: 0, errors: 0, statuses: {}, codes: {} };
    const one = async () => {
        try {
            const r = await client.request({ path: '/', method: 'GET' });
            await r.body.text();
            out.statuses[r.statusCode] = (out.statuses[r.statusCode] || 0) + 1;
            out.ok++;
        } catch (e) {
            out.errors++;
            out.codes[e.code || e.message] = (out.codes[e.code || e.message] || 0) + 1;
        }
    };
    await Promise.all(Array.from({ length: Number(total) }, one));
    await client.close();
    console.log(JSON.stringify(out));
}
main().catch((e) => { console.error(e); process.exit(1); });
