#!/usr/bin/env python3
"""Holds N loopback TCP sockets in the network namespace it runs in: a listener and
(N - 1) // 2 accepted connection pairs. Prints READY when they exist, then waits for its stdin
to close.

Usage: netns_table.py N
"""
import resource
import socket
import sys


def main():
    n = int(sys.argv[1])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 64)), hard))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    held = [listener]
    while len(held) + 2 <= n:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        held += [client, server]
    print("READY", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
