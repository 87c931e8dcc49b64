#!/usr/bin/python3
"""ternd_peer.py: test/lib/smtp_peer.py with one more fault for the
ternd tests.

    ternd_peer.py --slow-dot SECONDS [smtp_peer.py options...]

--slow-dot SECONDS: after the final "." the message is stored in the
maildir at once (as smtp_peer.py does), but the 250 reply comes SECONDS
later.  A client killed in between has delivered the message without
knowing it: the case that makes "at least once" mean duplicates.

Every other option is smtp_peer.py's (see its --help).
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import smtp_peer  # noqa: E402


def take_slow_dot(argv):
    """Remove --slow-dot SECONDS from argv; return the seconds (0)."""
    if "--slow-dot" not in argv:
        return 0.0
    i = argv.index("--slow-dot")
    if i + 1 >= len(argv):
        sys.exit("ternd_peer.py: --slow-dot needs SECONDS")
    secs = float(argv[i + 1])
    del argv[i:i + 2]
    return secs


def main():
    slow_dot = take_slow_dot(sys.argv)
    if slow_dot > 0:
        stored = smtp_peer.Handler.handle_DATA

        async def handle_DATA(self, server, session, envelope):
            reply = await stored(self, server, session, envelope)
            await asyncio.sleep(slow_dot)
            return reply

        smtp_peer.Handler.handle_DATA = handle_DATA
    return smtp_peer.main()


if __name__ == "__main__":
    sys.exit(main())
