/* SPDX-License-Identifier: MIT */
/* The process model: what kind of program owns a socket and what its
 * threads are doing. A CLOSE_WAIT means something different in an event
 * loop (one thread in epoll_wait), in a thread-per-connection server (20
 * threads blocked in recv or sleep) and in a client with a connection pool,
 * and the fix names a different knob per runtime.
 *
 * Read from /proc/PID: exe (basename), cmdline, maps (which runtime library
 * is mapped), task/TID/stat (thread state) and task/TID/wchan (where a
 * sleeping thread waits; "0" when the kernel hides it from this user).
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

enum runtime {
    RT_GENERIC, RT_PYTHON, RT_NODE, RT_JVM, RT_GO, RT_NGINX, RT_HAPROXY, RT_ENVOY,
    RT_RUBY, RT_PHP_FPM, RT_COUNT
};

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
    uint8_t runtime;      /* enum runtime */
    bool asyncio;         /* python with the _asyncio module loaded */
    uint32_t nthreads;    /* threads counted (capped at PROC_MAX_THREADS) */
    struct thread_wait waits[PROC_MAX_WAITS]; /* most common first */
    uint8_t nwaits;
    char exe[32];         /* basename of /proc/PID/exe ("" when unreadable) */
};

/* Reads the model of pid under proc_root ("/proc"). */
int proctask_read(const char *proc_root, pid_t pid, struct proc_model *m);

/* "python", "node", "jvm", "go", "nginx", ... "generic". */
const char *runtime_name(enum runtime rt);

/* The runtime from the executable's basename and the command line's first
 * word (argv[0]); RT_GENERIC when neither names one. Pure. */
enum runtime proctask_runtime_from_names(const char *exe, const char *argv0);
/* Markers in one line of /proc/PID/maps: the runtime whose shared library
 * it maps (libjvm, libnode, libpython, libruby), or RT_GENERIC; *asyncio is
 * set when it is Python's _asyncio extension. Pure. */
enum runtime proctask_runtime_from_map_line(const char *line, bool *asyncio);
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
