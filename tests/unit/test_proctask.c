/* SPDX-License-Identifier: MIT */
/* The process model: runtime names from exe/argv0/maps lines, wait-channel
 * counting, stat parsing, and a live read of a child that sleeps. */
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel/proctask.h"
#include "test.h"

/* Only the libraries the catalogue looks for are kept, once each, by
 * their marker: libpq for "libpq.so.5", _asyncio for its extension. */
TEST(maps_keep_the_catalogue_markers)
{
    struct proc_model m = {0};
    proctask_note_map_line(&m, "7f00-7f01 r-xp 0 08:01 1 /usr/lib/jvm/x/lib/server/libjvm.so\n");
    proctask_note_map_line(&m, "7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libpq.so.5.15\n");
    proctask_note_map_line(&m, "7f00-7f01 r--p 0 08:01 1 /usr/lib/x86_64-linux-gnu/libpq.so.5.15\n");
    proctask_note_map_line(&m, "7f00-7f01 r--p 0 08:01 1 /usr/lib/python3.11/lib-dynload/_asyncio.cpython-311-x86_64-linux-gnu.so\n");
    proctask_note_map_line(&m, "7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libssl.so.3\n");
    proctask_note_map_line(&m, "7f00-7f01 rw-p 0 00:00 0 [heap]\n");
    proctask_note_map_line(&m, "7f00-7f01 rw-p 0 00:00 0\n");
    /* a name that only starts like a marker is not it */
    proctask_note_map_line(&m, "7f00-7f01 r-xp 0 08:01 1 /usr/lib/libpqwalreceiver.so\n");
    CHECK_EQ_STR(m.libs, ";libjvm;libpq;_asyncio;");
    /* full: the first ones are kept, nothing overflows */
    for (int i = 0; i < 100; i++)
        proctask_note_map_line(&m, "7f00-7f01 r-xp 0 08:01 1 /usr/lib/apache2/modules/mod_mpm_prefork.so\n");
    CHECK(strlen(m.libs) < sizeof m.libs);
}

TEST(cmdline_is_one_printable_line)
{
    struct proc_model m = {0};
    const char argv[] = "/usr/bin/python3\0/usr/bin/gunicorn\0-k\0gthread\0a\tb\0";
    proctask_set_cmdline(&m, argv, sizeof argv - 1);
    CHECK_EQ_STR(m.cmdline, "/usr/bin/python3 /usr/bin/gunicorn -k gthread a?b");
    char big[400];
    memset(big, 'x', sizeof big);
    proctask_set_cmdline(&m, big, sizeof big);
    CHECK_EQ_INT(strlen(m.cmdline), sizeof m.cmdline - 1);
    proctask_set_cmdline(&m, "", 0);
    CHECK_EQ_STR(m.cmdline, "");
}

TEST(waits_keep_the_most_common_first)
{
    struct proc_model m = {0};
    proctask_count_wait(&m, "do_epoll_wait");
    proctask_count_wait(&m, "poll_schedule_timeout.constprop.0");
    for (int i = 0; i < 3; i++)
        proctask_count_wait(&m, "hrtimer_nanosleep");
    proctask_count_wait(&m, "running");
    proctask_count_wait(&m, "futex_wait_queue");
    proctask_count_wait(&m, "wait_woken"); /* a fifth channel: counted, not listed */
    CHECK_EQ_INT(m.nthreads, 8);
    CHECK(!strcmp(m.waits[2].wchan, "poll_schedule_timeout")); /* suffix cut */
    CHECK_EQ_INT(m.nwaits, PROC_MAX_WAITS);
    CHECK(!strcmp(m.waits[0].wchan, "hrtimer_nanosleep"));
    CHECK_EQ_INT(m.waits[0].n, 3);
}

TEST(stat_state_after_the_last_paren)
{
    CHECK_EQ_INT(proctask_stat_state("123 (a) b) S 1 2 3"), 'S');
    CHECK_EQ_INT(proctask_stat_state("123 (x) R 1"), 'R');
    CHECK_EQ_INT(proctask_stat_state("123 (x)"), 0);
    CHECK_EQ_INT(proctask_stat_state("garbage"), 0);
}

/* A child asleep in nanosleep: one thread, waiting in hrtimer_nanosleep
 * (wchan is readable for our own child), generic runtime. */
TEST(live_child_sleeping)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec ts = {30, 0};
        nanosleep(&ts, NULL);
        _exit(0);
    }
    CHECK(pid > 0);
    struct proc_model m;
    /* until the child is asleep in nanosleep: right after fork it may wait
     * elsewhere for a moment (page faults; under ASan its runtime's own
     * locks), which is no answer to check */
    for (int i = 0; i < 100; i++) {
        CHECK_EQ_INT(proctask_read("/proc", pid, &m), 0);
        if (m.nwaits && !strcmp(m.waits[0].wchan, "hrtimer_nanosleep"))
            break;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    CHECK(m.read);
    CHECK_EQ_INT(m.nthreads, 1);
    CHECK(!m.go);
    CHECK(strstr(m.cmdline, "test_proctask") != NULL);
    CHECK(!strcmp(m.waits[0].wchan, "hrtimer_nanosleep"));
    CHECK(!strcmp(m.exe, "test_proctask"));
    CHECK(proctask_read("/proc", pid, &m) < 0); /* reaped: gone */
}

/* A minimal ELF64 with one PT_NOTE: "Go" type 4 is Go (Go's linker pads
 * the name to 4 bytes, as in /usr/bin's Go tools here), "GNU" is not. */
static int elf_with_note(const char *name, uint32_t namesz, uint32_t type)
{
    char path[] = "/tmp/closer-test-elf-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    Elf64_Ehdr eh = {.e_phoff = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr),
                     .e_phnum = 1};
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    Elf64_Nhdr nh = {.n_namesz = namesz, .n_descsz = 4, .n_type = type};
    char note[64] = {0};
    memcpy(note, &nh, sizeof nh);
    memcpy(note + sizeof nh, name, strlen(name) + 1);
    size_t note_len = sizeof nh + ((nh.n_namesz + 3) & ~3u) + 4;
    Elf64_Phdr ph = {.p_type = PT_NOTE, .p_offset = sizeof eh + sizeof(Elf64_Phdr),
                     .p_filesz = note_len};
    if (write(fd, &eh, sizeof eh) < 0 || write(fd, &ph, sizeof ph) < 0 ||
        write(fd, note, note_len) < 0)
        return -1;
    return fd;
}

TEST(go_binary_by_its_build_id_note)
{
    int go = elf_with_note("Go", 4, 4), go3 = elf_with_note("Go", 3, 4);
    int gnu = elf_with_note("GNU", 4, 3), bad = elf_with_note("Go", 4, 3);
    CHECK(go >= 0 && go3 >= 0 && gnu >= 0 && bad >= 0);
    CHECK(proctask_elf_is_go(go));
    CHECK(proctask_elf_is_go(go3));
    close(go3);
    CHECK(!proctask_elf_is_go(gnu));
    CHECK(!proctask_elf_is_go(bad));
    close(go), close(gnu), close(bad);
    int self = open("/proc/self/exe", O_RDONLY);
    CHECK(!proctask_elf_is_go(self)); /* this C test binary */
    close(self);
    CHECK(!proctask_elf_is_go(-1));
}
