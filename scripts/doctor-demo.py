#!/usr/bin/env python3
"""Makes every condition `portscope doctor` judges, for real, in the current network namespace
(run it inside a private one: `ip netns add demo; ip netns exec demo python3 THIS`), prints
READY and holds them until stdin closes. docs/doctor.md shows doctor's output on them.

- a listener with backlog 0, one connection queued and two more clients whose SYNs it drops;
- 20 connections left in CLOSE_WAIT by this process (the peers closed, we never do);
- a sender whose receiver stopped reading (a zero window);
- a connection whose packets an nft rule drops (retransmits);
- a UDP socket flooded past its receive buffer.
"""
import os
import socket
import subprocess
import sys
import time

subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
held = []

# A full accept queue: backlog 0 takes one connection; later SYNs are dropped.
full = socket.socket()
full.bind(("127.0.0.1", 8080))
full.listen(0)
held += [full, socket.create_connection(("127.0.0.1", 8080))]
for _ in range(2):
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(("127.0.0.1", 8080))
    held.append(c)

# CLOSE_WAIT: accept, let the client close, never close our end.
server = socket.socket()
server.bind(("127.0.0.1", 9090))
server.listen(64)
for _ in range(20):
    c = socket.create_connection(("127.0.0.1", 9090))
    s, _ = server.accept()
    c.close()
    held.append(s)
held.append(server)

# A zero window: the receiver never reads.
slow = socket.socket()
slow.bind(("127.0.0.1", 7070))
slow.listen(1)
sender = socket.create_connection(("127.0.0.1", 7070))
reader, _ = slow.accept()
sender.setblocking(False)
try:
    while True:
        sender.send(b"x" * 65536)
except BlockingIOError:
    pass
held += [slow, sender, reader]

# Loss: every packet to port 6060 is dropped on arrival.
lossy = socket.socket()
lossy.bind(("127.0.0.1", 6060))
lossy.listen(1)
client = socket.create_connection(("127.0.0.1", 6060))
accepted, _ = lossy.accept()
rules = [
    ["add", "table", "inet", "demo"],
    ["add", "chain", "inet", "demo", "in", "{ type filter hook input priority 0 ; }"],
    ["add", "rule", "inet", "demo", "in", "tcp", "dport", "6060", "drop"],
]
for rule in rules:
    subprocess.run(["nft"] + rule, check=True)
client.send(b"this will be retransmitted")
held += [lossy, client, accepted]

# UDP drops: a 4 KiB receive buffer, 100 datagrams of 1000 bytes, nobody reading.
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
udp.bind(("127.0.0.1", 5353))
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(100):
    out.sendto(b"y" * 1000, ("127.0.0.1", 5353))
held += [udp, out]

time.sleep(1.5)  # one SYN retransmission for the dropped clients, one RTO for the lossy one
print("READY", os.getpid(), flush=True)
sys.stdin.read()
