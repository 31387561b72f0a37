/* The least a complete owner scan can cost: every /proc/PID/fd listed and each entry looked at
 * once, nothing else (no threads, no parsing, no output but a count). docs/performance.md
 * compares `portscope who` with it. Build and run inside the bench table's namespace:
 *   cc -O2 -o /tmp/fd_scan_floor scripts/bench/fd_scan_floor.c
 *   perf stat -r 20 /tmp/fd_scan_floor MODE
 * MODE: statx (what portscope does), readlink (what ss does), fstatat, list (getdents only),
 * probe (statx on fd numbers 0.. until the directory's size in entries is found, no listing).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static long sockets, misses;

static void look(int dir, const char *name, const char *mode) {
    if (!strcmp(mode, "statx")) {
        struct statx sx;
        if (statx(dir, name, 0, STATX_TYPE | STATX_INO, &sx) == 0 && S_ISSOCK(sx.stx_mode))
            sockets++;
    } else if (!strcmp(mode, "readlink")) {
        char link[64];
        if (readlinkat(dir, name, link, sizeof link) > 8 && !strncmp(link, "socket:[", 8))
            sockets++;
    } else if (!strcmp(mode, "fstatat")) {
        struct stat st;
        if (fstatat(dir, name, &st, 0) == 0 && S_ISSOCK(st.st_mode))
            sockets++;
    }
}

static void probe(int dir) {
    struct stat listing;
    if (fstat(dir, &listing) != 0)
        return;
    char name[24];
    long found = 0;
    for (long fd = 0; found < listing.st_size && fd < 2 * listing.st_size + 64; fd++) {
        struct statx sx;
        snprintf(name, sizeof name, "%ld", fd);
        if (statx(dir, name, 0, STATX_TYPE | STATX_INO, &sx) != 0) {
            misses++;
            continue;
        }
        found++;
        if (S_ISSOCK(sx.stx_mode))
            sockets++;
    }
}

static void scan(const char *pid, const char *mode) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%s/fd", pid);
    int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return;
    if (!strcmp(mode, "probe")) {
        probe(dir);
        close(dir);
        return;
    }
    char buf[32768];
    long n;
    while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
        for (long at = 0; at < n;) {
            struct dirent64 *entry = (struct dirent64 *)(buf + at);
            at += entry->d_reclen;
            if (entry->d_name[0] != '.')
                look(dir, entry->d_name, mode);
        }
    }
    close(dir);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "statx";
    DIR *proc = opendir("/proc");
    struct dirent *entry;
    while (proc && (entry = readdir(proc)))
        if (entry->d_name[0] >= '1' && entry->d_name[0] <= '9')
            scan(entry->d_name, mode);
    printf("%ld sockets, %ld misses\n", sockets, misses);
    return 0;
}
