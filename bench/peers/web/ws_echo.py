"""Python websockets (asyncio) echoing every message, the peer of ws_echo.

    /usr/bin/python3 ws_echo.py PORT      (serves ws://127.0.0.1:PORT/ws/echo)
"""
import asyncio
import sys

import websockets


async def echo(ws, path=None):
    async for msg in ws:
        await ws.send(msg)


async def main(port):
    async with websockets.serve(echo, "127.0.0.1", port, compression=None):
        await asyncio.Future()


asyncio.run(main(int(sys.argv[1])))
