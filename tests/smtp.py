"""A real SMTP server on loopback (aiosmtpd) for the notification tests and
the bench. Messages it accepts are kept as ``email.message.EmailMessage``
objects (in memory), or only counted (``keep=False``, for the bench).

It can refuse addresses (a permanent 550, as for a bounce), and be stopped
and started again on the same port to stand for a server that is down.
Run as a script it serves in its own process and prints its port:
``python -m tests.smtp --count-only``.
"""

import email
import email.policy
import socket
import threading
import time

from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RecordingHandler:
    def __init__(self, keep=True, refuse=(), delay_rcpt=0.0):
        # delay_rcpt: seconds to wait before answering RCPT, so that a sender
        # killed then has not handed the message over
        self.keep, self.refuse, self.delay_rcpt = keep, {a.lower() for a in refuse}, delay_rcpt
        self.messages, self.count, self.lock = [], 0, threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.delay_rcpt:
            import asyncio

            await asyncio.sleep(self.delay_rcpt)
        if address.lower() in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            if self.keep:
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
                self.messages.append(message)
        return "250 Message accepted for delivery"


class SMTPServer:
    """``with SMTPServer() as smtp: ...``; ``smtp.port``, ``smtp.messages``."""

    def __init__(self, port=None, **handler_options):
        self.port = port or free_port()
        self.handler = RecordingHandler(**handler_options)
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        with self.handler.lock:
            return list(self.handler.messages)

    def to(self, address):
        return [m for m in self.messages if address.lower() in m["X-Envelope-To"].lower()]

    def wait_for(self, count, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.handler.count >= count:
                return True
            time.sleep(0.05)
        return self.handler.count >= count

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":  # pragma: no cover - the bench's server process
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--count-only", action="store_true")
    args = parser.parse_args()
    server = SMTPServer(port=args.port or None, keep=not args.count_only).start()
    print(server.port, flush=True)
    try:
        for line in sys.stdin:  # "count" asks how many were accepted; EOF stops
            if line.strip() == "count":
                print(server.handler.count, flush=True)
    finally:
        server.stop()
