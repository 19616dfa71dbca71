"""Simulator process for ``bench/bench_streams.py`` (run as a subprocess, never imported by rxpro).

``python bench/_stream_server.py [--recordings]`` starts an ``rxpro.testing.Simulator``
at full speed on 127.0.0.1, prints ``{"http": ..., "ws": ..., "port": ...}`` on one
stdout line, then answers one JSON command per stdin line with one JSON line:

* ``{"cmd": "reset"}`` — forget what was sent so far; later connections are "this run".
* ``{"cmd": "burst", "count": N, "start": S}`` — queue a synthetic BTC/USDT trade burst
  for the next connection that subscribes to ``btcusdt@trade``.
* ``{"cmd": "gate", "keys": [...], "depth_rest": bool}`` — hold recorded playback until every key has been subscribed since the reset (and the depth
  REST snapshot was served, if asked), so that every consumer gets the whole session.
* ``{"cmd": "expect"}`` — what the server sent since the reset: trade ids, bookTicker
  update ids, depth-diff final ids newer than the served snapshot, burst frames written.
* ``{"cmd": "quit"}``.

The server runs in its own process so that the client's CPU time is the client's alone.
It subclasses the simulator only to *observe* what it sends (``_flush``) and which book
snapshot its Binance venue served (``depth``); the wire behaviour is unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson
from aiohttp import web

from rxpro.testing import Burst, Simulator, SimulatorConfig
from rxpro.testing._sim_binance import BinanceVenue
from rxpro.testing._sim_okx import OkxVenue


def _payload(frame: bytes) -> bytes:
    """The payload of one unmasked server WebSocket frame (2, 4 or 10 byte header)."""
    size = frame[1] & 0x7F
    return frame[2:] if size < 126 else frame[4:] if size == 126 else frame[10:]


class CountingBinance(BinanceVenue):
    """The simulator's Binance, telling its simulator the update id of each book snapshot it serves."""

    server: CountingSimulator

    async def depth(self, request: web.Request) -> web.Response:
        response = await super().depth(request)
        if isinstance(response.text, str):
            try:
                self.server.snapshot_nonce = int(orjson.loads(response.text)["lastUpdateId"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                pass
        return response


class CountingSimulator(Simulator):
    """A ``Simulator`` that remembers the recorded frames it sent since the last reset."""

    def __init__(self, config: SimulatorConfig) -> None:
        super().__init__(config, venues=(CountingBinance, OkxVenue))
        self.sent_frames: list[bytes] = []
        self.snapshot_nonce: int | None = None
        self.first_conn = 0
        self.bursts: list[Burst] = []
        self.gate_open = asyncio.Event()
        self.gate_open.set()

    def reset(self) -> None:
        self.sent_frames = []
        self.snapshot_nonce = None
        self.first_conn = self.connections + 1
        self.bursts = []
        self.received.clear()
        self.http_requests.clear()

    async def _flush(self, conn: Any, out: list[bytes]) -> None:  # type: ignore[override]
        # recorded playback goes out in pre-framed batches through here (bursts do not)
        if out:
            await self.gate_open.wait()  # hold playback (not the protocol) while gated
            if conn.id >= self.first_conn:
                self.sent_frames.extend(out)
        await super()._flush(conn, out)

    def expectation(self) -> dict[str, Any]:
        trade: list[int] = []
        depth: list[int] = []
        bbo: list[int] = []
        for frame in self.sent_frames:
            data = orjson.loads(_payload(frame))
            if "data" in data and "stream" in data:
                data = data["data"]
            event = data.get("e")
            if event == "trade":
                trade.append(data["t"])
            elif event == "depthUpdate":
                if self.snapshot_nonce is None or data["u"] > self.snapshot_nonce:
                    depth.append(data["u"])
            elif event is None and "u" in data and "b" in data:
                bbo.append(data["u"])
        return {
            "trade": trade,
            "depth": depth,
            "bbo": bbo,
            "frames": len(self.sent_frames),
            "snapshot_nonce": self.snapshot_nonce,
            "burst_sent": sum(b.sent for b in self.bursts),
        }

    def subscribed_keys(self) -> set[str]:
        keys: set[str] = set()
        for frame in self.received:
            if frame.conn_id >= self.first_conn and isinstance(frame.data, dict):
                if frame.data.get("method") == "SUBSCRIBE":
                    keys.update(frame.data.get("params") or ())
        return keys


async def _gate(sim: CountingSimulator, keys: list[str], depth_rest: bool, timeout: float = 60.0,
                settle: float = 0.5) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while loop.time() < deadline:
            ready = set(keys) <= sim.subscribed_keys()
            if ready and depth_rest:
                ready = sim.snapshot_nonce is not None
            if ready:
                await asyncio.sleep(settle)  # let the client apply the snapshot before diffs flow
                break
            await asyncio.sleep(0.005)
    finally:
        sim.gate_open.set()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recordings", action="store_true", help="load the bundled recordings")
    args = parser.parse_args()
    sim = CountingSimulator(SimulatorConfig(speed=None, load_recordings=args.recordings))
    await sim.start()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def reply(value: Any) -> None:
        sys.stdout.write(orjson.dumps(value).decode() + "\n")
        sys.stdout.flush()

    reply({"http": sim.url, "ws": sim.ws_url, "port": int(sim.url.rsplit(":", 1)[1])})
    gates: set[asyncio.Task[None]] = set()
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            command = orjson.loads(line)
            cmd = command.get("cmd")
            if cmd == "reset":
                sim.reset()
                reply({"ok": True})
            elif cmd == "burst":
                sim.bursts.append(sim.burst_trades("binance", "BTC/USDT", count=int(command["count"]),
                                                   start_id=int(command["start"])))
                reply({"ok": True})
            elif cmd == "gate":
                sim.gate_open.clear()
                task = loop.create_task(_gate(sim, list(command["keys"]), bool(command.get("depth_rest"))))
                gates.add(task)
                task.add_done_callback(gates.discard)
                reply({"ok": True})
            elif cmd == "expect":
                reply(sim.expectation())
            elif cmd == "quit":
                reply({"ok": True})
                break
            else:
                reply({"error": f"unknown command {cmd!r}"})
    finally:
        for task in gates:
            task.cancel()
        await sim.close()


if __name__ == "__main__":
    asyncio.run(main())
