# SPDX-License-Identifier: MIT
# A real asyncio server whose handler never closes: it answers, reads until
# the client's EOF and returns without writer.close(). The writers stay in a
# registry (as chat/broadcast servers keep them), so nothing collects them.
#   asyncio_server.py PORT [CLOSE_AFTER_S]
# With CLOSE_AFTER_S the handler does close, that long after the EOF (a
# CLOSE_WAIT that comes and goes: doctor --confirm must call it transient).
import asyncio
import sys

clients = set()


async def handle(reader, writer):
    clients.add(writer)
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    await writer.drain()
    while await reader.read(4096):
        pass
    if len(sys.argv) > 2:
        await asyncio.sleep(float(sys.argv[2]))
        writer.close()
        clients.discard(writer)


async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    async with srv:
        await srv.serve_forever()

asyncio.run(main())
