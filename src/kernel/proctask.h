/* SPDX-License-Identifier: MIT */
/* The process model: what kind of program owns a socket and what its
 * threads are doing. A CLOSE_WAIT means something different in an event
 * loop (one thread in epoll_wait), in a thread-per-connection server (20
 * threads blocked in recv or sleep) and in a client with a connection pool,
 * and the fix names a different knob per runtime.
 *
 * Read from /proc/PID: exe (basename, and whether it is a Go binary),
 * cmdline, maps (the libraries the catalogue names), task/TID/stat (thread
 * state) and task/TID/wchan (where a sleeping thread waits; "0" when the
 * kernel hides it from this user). Which program that is, is the
 * catalogue's business (src/catalog/).
 * Meant only for the few processes a rule looks at: maps and the task
 * directory of a JVM are thousands of lines.
 *
 * Error convention: proctask_read returns 0, or negative errno when the
 * process is gone or its directory cannot be opened. */
#ifndef CLOSER_KERNEL_PROCTASK_H
#define CLOSER_KERNEL_PROCTASK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_MAX_WAITS 4
/* Threads read per process at most: enough to see what a pool of workers
 * waits on without walking a 10,000-thread JVM. */
#define PROC_MAX_THREADS 4096

struct thread_wait {
    char wchan[28];  /* kernel function ("hrtimer_nanosleep"), "running", or "?" (hidden) */
    uint32_t n;      /* threads waiting there */
};

struct proc_model {
    bool read;            /* filled; false: not asked for, or the process was gone */
    bool go;              /* the executable carries Go's build id */
    uint32_t nthreads;    /* threads counted (capped at PROC_MAX_THREADS) */
    struct thread_wait waits[PROC_MAX_WAITS]; /* most common first */
    uint8_t nwaits;
    char exe[32];         /* basename of /proc/PID/exe ("" when unreadable) */
    char cmdline[192];    /* argv joined by spaces, cut ("" when unreadable) */
    /* The mapped libraries the catalogue looks for, ";libpq;_asyncio;"
     * (src/catalog: who is who is decided there, not here). */
    char libs[160];
};

/* Reads the model of pid under proc_root ("/proc"). */
int proctask_read(const char *proc_root, pid_t pid, struct proc_model *m);

/* Adds the catalogue marker of one /proc/PID/maps line to libs (once).
 * Pure. */
void proctask_note_map_line(struct proc_model *m, const char *line);
/* argv as one line: NULs become spaces, control bytes '?'. Pure. */
void proctask_set_cmdline(struct proc_model *m, const char *argv, size_t len);
/* Counts one thread waiting at wchan into m->waits (keeps the most common
 * PROC_MAX_WAITS; the rest only add to nthreads). Pure. */
void proctask_count_wait(struct proc_model *m, const char *wchan);
/* A Go executable: its ELF64 program headers hold a PT_NOTE named "Go" of
 * type 4 (the Go build id), static, stripped and cgo binaries alike. */
bool proctask_elf_is_go(int fd);
/* The state letter of a /proc/PID/task/TID/stat line (after the last ')'),
 * or 0 when malformed. Pure. */
char proctask_stat_state(const char *stat);

#endif
