/* The least `portscope watch --interval 1` can cost: once a second, the same sock_diag dumps
 * watch asks for (TCP in one walk for both families, UDP per family, every state, the same
 * extension bits), and per socket the least a look must do, nothing else (no owners, no
 * output). scripts/bench-info.sh runs it beside watch and docs/performance.md compares them.
 *   cc -O2 -o /tmp/watch_floor scripts/bench/watch_floor.c
 *   /tmp/watch_floor MODE EXT LOOKS
 * MODE: dump (read every reply and drop it: the kernel's share), diff (each socket looked up
 * by protocol, addresses and inode in an open-addressing table, state and queues compared with
 * the last look, and tcp_info's two byte counters read: the rates). EXT: idiag_ext, 0 for plain
 * watch, 74 (tcp_info, congestion, memory) for `watch --rates --json`, 2 for the screen's.
 */
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLOTS (1 << 18)
#define KEY 44 /* message type, ports, addresses, inode */
#define BYTES_ACKED 120 /* offsetof(struct tcp_info, tcpi_bytes_acked) */

struct slot {
    unsigned char key[KEY];
    unsigned used, state, rqueue, wqueue;
    unsigned long long acked, received;
};

static struct slot *table;
static long changed, counted, used;
static char buf[65536];

static unsigned hash(const unsigned char *key) {
    unsigned long long h = 0;
    for (int i = 0; i < KEY; i += 4) {
        unsigned w;
        memcpy(&w, key + i, 4);
        h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
    }
    return (unsigned)(h >> 32) & (SLOTS - 1);
}

static void diff(int type, struct inet_diag_msg *m, int len) {
    unsigned char key[KEY] = {0};
    memcpy(key, &type, 4);
    memcpy(key + 4, &m->id.idiag_sport, 4);
    memcpy(key + 8, m->id.idiag_src, 16);
    memcpy(key + 24, m->id.idiag_dst, 16);
    memcpy(key + 40, &m->idiag_inode, 4);
    unsigned i = hash(key);
    while (table[i].used && memcmp(table[i].key, key, KEY))
        i = (i + 1) & (SLOTS - 1);
    struct slot *s = &table[i];
    if (!s->used) {
        /* A table that only grows (sockets gone are not dropped) stops at three quarters. */
        if (used >= SLOTS / 4 * 3) {
            changed++;
            return;
        }
        s->used = 1, used++;
        memcpy(s->key, key, KEY);
    } else if (s->state != m->idiag_state || s->rqueue != m->idiag_rqueue ||
               s->wqueue != m->idiag_wqueue) {
        changed++;
    }
    s->state = m->idiag_state, s->rqueue = m->idiag_rqueue;
    s->wqueue = m->idiag_wqueue;
    struct rtattr *a = (struct rtattr *)(m + 1);
    int left = len - (int)sizeof *m;
    for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) {
        if (a->rta_type == INET_DIAG_INFO && RTA_PAYLOAD(a) >= BYTES_ACKED + 16) {
            unsigned long long acked, received;
            memcpy(&acked, (char *)RTA_DATA(a) + BYTES_ACKED, 8);
            memcpy(&received, (char *)RTA_DATA(a) + BYTES_ACKED + 8, 8);
            counted += acked != s->acked || received != s->received;
            s->acked = acked, s->received = received;
            break;
        }
    }
}

static void dump(int fd, int type, void *req, int req_len, int do_diff) {
    send(fd, req, req_len, 0);
    for (;;) {
        int n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return;
        for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
                return;
            if (do_diff && h->nlmsg_type == type)
                diff(type, NLMSG_DATA(h), h->nlmsg_len - NLMSG_HDRLEN);
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s dump|diff EXT LOOKS\n", argv[0]);
        return 2;
    }
    int do_diff = !strcmp(argv[1], "diff");
    unsigned char ext = (unsigned char)atoi(argv[2]);
    int looks = atoi(argv[3]);
    table = calloc(SLOTS, sizeof *table);
    int fd = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_SOCK_DIAG);
    if (fd < 0 || !table) {
        perror("watch_floor");
        return 1;
    }
    for (int look = 0; look < looks; look++) {
        struct timespec start, next;
        clock_gettime(CLOCK_MONOTONIC, &start);
        /* TCP: the older request (TCPDIAG_GETSOCK, 18), one walk for IPv4 and IPv6. */
        struct {
            struct nlmsghdr h;
            struct inet_diag_req r;
        } tcp = {{sizeof tcp, 18, NLM_F_REQUEST | NLM_F_DUMP, 0, 0}, {0}};
        tcp.r.idiag_ext = ext;
        tcp.r.idiag_states = ~0u;
        dump(fd, 18, &tcp, sizeof tcp, do_diff);
        for (int family = 0; family < 2; family++) {
            struct {
                struct nlmsghdr h;
                struct inet_diag_req_v2 r;
            } udp = {{sizeof udp, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 0, 0}, {0}};
            udp.r.sdiag_family = family ? AF_INET6 : AF_INET;
            udp.r.sdiag_protocol = IPPROTO_UDP;
            udp.r.idiag_ext = ext;
            udp.r.idiag_states = ~0u;
            dump(fd, SOCK_DIAG_BY_FAMILY, &udp, sizeof udp, do_diff);
        }
        next = start;
        next.tv_sec += 1;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    printf("%ld changed, %ld counters moved\n", changed, counted);
    return 0;
}
