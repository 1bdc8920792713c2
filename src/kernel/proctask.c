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

#include "catalog/catalog.h"

void proctask_note_map_line(struct proc_model *m, const char *line)
{
    const char *path = strchr(line, '/');
    if (!path)
        return;
    const char *base = strrchr(path, '/') + 1;
    size_t n = catalog_lib_marker(base);
    if (!n)
        return;
    char word[64];
    snprintf(word, sizeof word, ";%.*s;", (int)(n < 60 ? n : 60), base);
    size_t used = strlen(m->libs);
    if (strstr(m->libs, word))
        return;
    if (used + strlen(word) >= sizeof m->libs)
        return; /* full: the first ones mapped are kept */
    snprintf(m->libs + used, sizeof m->libs - used, "%s", used ? word + 1 : word);
}

void proctask_set_cmdline(struct proc_model *m, const char *argv, size_t len)
{
    size_t n = len < sizeof m->cmdline - 1 ? len : sizeof m->cmdline - 1;
    while (n > 0 && argv[n - 1] == 0)
        n--; /* the last argument's NUL */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)argv[i];
        m->cmdline[i] = c == 0 ? ' ' : c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    m->cmdline[n] = 0;
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

/* Notes the catalogue's libraries among the mapped files. */
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
    while (fgets(line, sizeof line, f))
        proctask_note_map_line(m, line);
    fclose(f);
}

static void read_identity(int pidfd, struct proc_model *m)
{
    char exe[256], argv[512];
    ssize_t n = readlinkat(pidfd, "exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    const char *base = strrchr(exe, '/');
    snprintf(m->exe, sizeof m->exe, "%.31s", base ? base + 1 : exe);
    ssize_t len = read_small(pidfd, "cmdline", argv, sizeof argv);
    proctask_set_cmdline(m, argv, len > 0 ? (size_t)len : 0);
    scan_maps(pidfd, m);
    m->go = exe_is_go(pidfd);
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
    read_identity(pidfd, m);
    read_threads(pidfd, m);
    close(pidfd);
    m->read = true;
    return 0;
}
