#!/usr/bin/env python3
"""Builds the Unix-socket benchmark's table in the current network namespace and holds it.

20 holder processes each own a stream listener bound to a path in DIR with 200 connections to
it (both ends held by the process), 50 socketpairs and one datagram socket bound to a path:
502 sockets each, 10,040 in all. Prints "ready" once everything is made, then holds it until
stdin closes. Usage: unix_table.py DIR
"""
import os
import signal
import socket
import sys

from table import fork_holder, hold, raise_fd_limit

HOLDERS, CONNECTIONS, PAIRS = 20, 200, 50


def holder(directory, index, report):
    path = os.path.join(directory, f"server-{index}.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(CONNECTIONS)
    keep = [listener]
    for _ in range(CONNECTIONS):
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(path)
        server, _ = listener.accept()
        keep += [client, server]
    for _ in range(PAIRS):
        keep += list(socket.socketpair())
    dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dgram.bind(os.path.join(directory, f"dgram-{index}.sock"))
    keep.append(dgram)
    os.write(report, b"ok\n")
    os.close(report)
    signal.pause()


def main():
    directory = sys.argv[1]
    raise_fd_limit(4 * CONNECTIONS)
    children = [
        fork_holder(lambda report, i=index: holder(directory, i, report))[0]
        for index in range(HOLDERS)
    ]
    hold(children, "ready")


if __name__ == "__main__":
    main()
