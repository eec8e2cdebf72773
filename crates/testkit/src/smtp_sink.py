"""An SMTP server for the tests: aiosmtpd on 127.0.0.1:PORT, writing each
message it accepts to DIR as one file (the envelope as three header-like
lines, a blank line, then the message as received).

Recipients whose local part starts with `bounce` are refused with 550 (a
permanent failure), those starting with `defer` with 451 (a temporary
one). A message to a recipient starting with `slow` is kept at once but
answered only 1.5 s later (a sender killed meanwhile has sent it without
knowing). Prints `ready` once it listens."""

import asyncio
import os
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("bounce"):
            return "550 5.1.1 no such mailbox here"
        if local.startswith("defer"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = "%d-%06d" % (time.time_ns(), self.count)
        partial = os.path.join(self.directory, "." + name)
        with open(partial, "wb") as out:
            out.write(b"X-Sink-From: " + envelope.mail_from.encode() + b"\n")
            out.write(b"X-Sink-To: " + ",".join(envelope.rcpt_tos).encode() + b"\n")
            out.write(b"\n")
            out.write(envelope.original_content)
        os.rename(partial, os.path.join(self.directory, name + ".eml"))
        if any(to.split("@", 1)[0].lower().startswith("slow") for to in envelope.rcpt_tos):
            await asyncio.sleep(1.5)
        return "250 Message accepted for delivery"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
