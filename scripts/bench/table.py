#!/usr/bin/env python3
"""Builds the benchmark's socket table in the current network namespace and holds it.

20 holder processes each own 500 loopback connection pairs (1,000 TCP sockets), one listener
and 10 UDP sockets; 2,000 connections are closed client-first to leave TIME_WAIT; 300 idle
processes stand around with no sockets. Prints one line, "ready LISTEN_PORT CLIENT_PORT", then
holds everything until stdin closes.
"""
import os
import resource
import signal
import socket
import sys

HOLDERS, PAIRS, UDP, TIME_WAIT, IDLE = 20, 500, 10, 2000, 300


def raise_fd_limit(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < wanted:
        hard = wanted
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))


def holder(report):
    """One process: a listener, PAIRS connections to it, UDP sockets. Reports its ports."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(PAIRS)
    port = listener.getsockname()[1]
    keep = [listener]
    for _ in range(PAIRS):
        client = socket.create_connection(("127.0.0.1", port))
        server, _ = listener.accept()
        keep += [client, server]
    for _ in range(UDP):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        keep.append(udp)
    os.write(report, f"{port} {keep[1].getsockname()[1]}\n".encode())
    os.close(report)
    signal.pause()


def time_wait():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    for _ in range(TIME_WAIT):
        client = socket.create_connection(("127.0.0.1", port))
        server, _ = listener.accept()
        client.close()  # the active closer is left in TIME_WAIT
        server.close()
    listener.close()


def fork_holder(work):
    """Forks a child that runs work(report_fd) and then holds on; returns its pid and what it
    wrote to report_fd (once it closed it)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        work(write_end)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as r:
        return pid, r.read()


def hold(children, ready):
    """Prints the ready line, holds everything until stdin closes, then kills the children."""
    print(ready, flush=True)
    try:
        sys.stdin.read()
    finally:
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        for pid in children:
            os.waitpid(pid, 0)


def main():
    raise_fd_limit(4 * PAIRS)
    children = []
    ports = []
    for _ in range(HOLDERS):
        pid, report = fork_holder(holder)
        ports.append(report.split())
        children.append(pid)
    for _ in range(IDLE):
        pid = os.fork()
        if pid == 0:
            for fd in range(3, 64):
                try:
                    os.close(fd)
                except OSError:
                    pass
            signal.pause()
            os._exit(0)
        children.append(pid)
    time_wait()
    listen_port, client_port = ports[len(ports) // 2]
    hold(children, f"ready {listen_port} {client_port}")


if __name__ == "__main__":
    main()
