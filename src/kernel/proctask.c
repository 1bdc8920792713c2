/* SPDX-License-Identifier: MIT */
#include "kernel/proctask.h"
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const rt_names[RT_COUNT] = {
    [RT_GENERIC] = "generic", [RT_PYTHON] = "python",   [RT_NODE] = "node",
    [RT_JVM] = "jvm",         [RT_GO] = "go",           [RT_NGINX] = "nginx",
    [RT_HAPROXY] = "haproxy", [RT_ENVOY] = "envoy",     [RT_RUBY] = "ruby",
    [RT_PHP_FPM] = "php-fpm",
};

const char *runtime_name(enum runtime rt)
{
    return rt < RT_COUNT ? rt_names[rt] : "generic";
}

static bool starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static enum runtime runtime_of_name(const char *name)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    static const struct { const char *prefix; enum runtime rt; } names[] = {
        {"python", RT_PYTHON}, {"node", RT_NODE},       {"java", RT_JVM},
        {"nginx", RT_NGINX},   {"haproxy", RT_HAPROXY}, {"envoy", RT_ENVOY},
        {"ruby", RT_RUBY},     {"php-fpm", RT_PHP_FPM}, {"puma", RT_RUBY},
        {"unicorn", RT_RUBY},  {"gunicorn", RT_PYTHON}, {"uvicorn", RT_PYTHON},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (starts(base, names[i].prefix))
            return names[i].rt;
    return RT_GENERIC;
}

enum runtime proctask_runtime_from_names(const char *exe, const char *argv0)
{
    enum runtime rt = exe ? runtime_of_name(exe) : RT_GENERIC;
    if (rt == RT_GENERIC && argv0)
        rt = runtime_of_name(argv0);
    return rt;
}

enum runtime proctask_runtime_from_map_line(const char *line, bool *asyncio)
{
    const char *path = strchr(line, '/');
    if (!path)
        return RT_GENERIC;
    const char *base = strrchr(path, '/') + 1;
    if (starts(base, "_asyncio.")) {
        *asyncio = true;
        return RT_PYTHON;
    }
    static const struct { const char *prefix; enum runtime rt; } libs[] = {
        {"libjvm.so", RT_JVM},    {"libnode.so", RT_NODE}, {"libpython", RT_PYTHON},
        {"libruby", RT_RUBY},
    };
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++)
        if (starts(base, libs[i].prefix))
            return libs[i].rt;
    return RT_GENERIC;
}

void proctask_count_wait(struct proc_model *m, const char *raw)
{
    /* "poll_schedule_timeout.constprop.0": the compiler's clone suffix is
     * not part of the name a reader looks up. */
    char wchan[sizeof m->waits[0].wchan];
    snprintf(wchan, sizeof wchan, "%.*s", (int)strcspn(raw, ".\n"), raw);
    m->nthreads++;
    for (size_t i = 0; i < m->nwaits; i++) {
        if (strcmp(m->waits[i].wchan, wchan))
            continue;
        m->waits[i].n++;
        /* Keep the most common first: bubble up past smaller counts. */
        for (; i > 0 && m->waits[i - 1].n < m->waits[i].n; i--) {
            struct thread_wait t = m->waits[i - 1];
            m->waits[i - 1] = m->waits[i];
            m->waits[i] = t;
        }
        return;
    }
    if (m->nwaits == PROC_MAX_WAITS)
        return;
    struct thread_wait *w = &m->waits[m->nwaits++];
    snprintf(w->wchan, sizeof w->wchan, "%s", wchan);
    w->n = 1;
}

char proctask_stat_state(const char *stat)
{
    const char *p = strrchr(stat, ')');
    if (!p || p[1] != ' ' || !p[2])
        return 0;
    return p[2];
}

static ssize_t read_small(int dirfd, const char *path, char *buf, size_t len)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return n;
}

bool proctask_elf_is_go(int fd)
{
    Elf64_Ehdr eh;
    bool go = false;
    if (pread(fd, &eh, sizeof eh, 0) != sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
        eh.e_phnum >= 64)
        return false;
    for (unsigned i = 0; i < eh.e_phnum && !go; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != sizeof ph)
            break;
        if (ph.p_type != PT_NOTE)
            continue;
        char notes[512];
        size_t len = ph.p_filesz < sizeof notes ? ph.p_filesz : sizeof notes;
        ssize_t got = pread(fd, notes, len, (off_t)ph.p_offset);
        for (size_t off = 0; got > 0 && off + sizeof(Elf64_Nhdr) <= (size_t)got;) {
            Elf64_Nhdr nh;
            memcpy(&nh, notes + off, sizeof nh);
            size_t name_at = off + sizeof nh;
            /* Go's linker writes the name as "Go\0\0" (namesz 4) */
            if ((nh.n_namesz == 3 || nh.n_namesz == 4) && name_at + 3 <= (size_t)got &&
                !memcmp(notes + name_at, "Go", 3) && nh.n_type == 4)
                go = true;
            /* sizes from the file: a huge one ends the walk, never wraps */
            if (nh.n_namesz > sizeof notes || nh.n_descsz > sizeof notes)
                break;
            off = name_at + ((nh.n_namesz + 3) & ~3u) + ((nh.n_descsz + 3) & ~3u);
        }
    }
    return go;
}

static bool exe_is_go(int pidfd)
{
    int fd = openat(pidfd, "exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool go = proctask_elf_is_go(fd);
    close(fd);
    return go;
}

/* Scans maps line by line for a runtime library; stops at the first
 * decisive one (a python process keeps scanning for _asyncio). */
static void scan_maps(int pidfd, struct proc_model *m)
{
    int fd = openat(pidfd, "maps", O_RDONLY | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "re") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return;
    }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        bool asyncio = false;
        enum runtime rt = proctask_runtime_from_map_line(line, &asyncio);
        if (rt == RT_GENERIC)
            continue;
        if (m->runtime == RT_GENERIC)
            m->runtime = rt;
        m->asyncio |= asyncio;
        if (m->runtime != RT_PYTHON || m->asyncio)
            break;
    }
    fclose(f);
}

static void read_runtime(int pidfd, struct proc_model *m)
{
    char exe[256], argv0[256];
    ssize_t n = readlinkat(pidfd, "exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    const char *base = strrchr(exe, '/');
    snprintf(m->exe, sizeof m->exe, "%.31s", base ? base + 1 : exe);
    if (read_small(pidfd, "cmdline", argv0, sizeof argv0) < 0)
        argv0[0] = 0; /* argv[0] ends at the first NUL */
    m->runtime = (uint8_t)proctask_runtime_from_names(n > 0 ? exe : NULL, argv0);
    /* The executable's name decides for most; python still needs maps for
     * asyncio, and an embedding binary (uwsgi, a JNI launcher) only maps
     * its runtime. */
    if (m->runtime == RT_GENERIC || m->runtime == RT_PYTHON)
        scan_maps(pidfd, m);
    if (m->runtime == RT_GENERIC && exe_is_go(pidfd))
        m->runtime = RT_GO;
}

static void read_threads(int pidfd, struct proc_model *m)
{
    int tfd = openat(pidfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = tfd >= 0 ? fdopendir(tfd) : NULL;
    if (!d) {
        if (tfd >= 0)
            close(tfd);
        return;
    }
    struct dirent *de;
    while (m->nthreads < PROC_MAX_THREADS && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[64], stat[512], wchan[64];
        snprintf(path, sizeof path, "%.20s/stat", de->d_name);
        if (read_small(tfd, path, stat, sizeof stat) <= 0)
            continue; /* the thread ended meanwhile */
        char state = proctask_stat_state(stat);
        if (state == 'R') {
            proctask_count_wait(m, "running");
            continue;
        }
        snprintf(path, sizeof path, "%.20s/wchan", de->d_name);
        /* "0": hidden from this user (or not sleeping in a known place). */
        if (read_small(tfd, path, wchan, sizeof wchan) <= 0 || !strcmp(wchan, "0"))
            snprintf(wchan, sizeof wchan, "?");
        proctask_count_wait(m, wchan);
    }
    closedir(d);
}

int proctask_read(const char *proc_root, pid_t pid, struct proc_model *m)
{
    char path[64];
    snprintf(path, sizeof path, "%s/%d", proc_root, (int)pid);
    memset(m, 0, sizeof *m);
    int pidfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pidfd < 0)
        return -errno;
    read_runtime(pidfd, m);
    read_threads(pidfd, m);
    close(pidfd);
    m->read = true;
    return 0;
}
