/* SPDX-License-Identifier: MIT */
#include "kernel/sysctl.h"
#include "test.h"

static const char *netstat =
    "TcpExt: SyncookiesSent TW TWRecycled ListenOverflows ListenDrops TCPTimeWaitOverflow\n"
    "TcpExt: 1 250 3 17 19 42\n"
    "IpExt: InNoRoutes InTruncatedPkts\n"
    "IpExt: 5 6\n";

TEST(netstat_lookup_finds_columns)
{
    CHECK_EQ_INT(netstat_lookup(netstat, "TcpExt", "SyncookiesSent"), 1);
    CHECK_EQ_INT(netstat_lookup(netstat, "TcpExt", "ListenOverflows"), 17);
    CHECK_EQ_INT(netstat_lookup(netstat, "TcpExt", "TCPTimeWaitOverflow"), 42);
    CHECK_EQ_INT(netstat_lookup(netstat, "TcpExt", "TW"), 250);
    CHECK_EQ_INT(netstat_lookup(netstat, "IpExt", "InTruncatedPkts"), 6);
}

TEST(netstat_lookup_absent)
{
    CHECK_EQ_INT(netstat_lookup(netstat, "TcpExt", "NoSuchCounter"), -1);
    CHECK_EQ_INT(netstat_lookup(netstat, "Tcp", "TW"), -1);
    CHECK_EQ_INT(netstat_lookup("", "TcpExt", "TW"), -1);
    CHECK_EQ_INT(netstat_lookup("TcpExt: TW\n", "TcpExt", "TW"), -1);
}

TEST(sysctl_reads_port_range)
{
    long hi;
    long lo = sysctl_read("net/ipv4/ip_local_port_range", &hi);
    CHECK(lo > 0);
    CHECK(hi >= lo);
    CHECK_EQ_INT(sysctl_read("net/ipv4/no_such_sysctl_closer", NULL), -1);
}
