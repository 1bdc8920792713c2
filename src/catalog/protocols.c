/* SPDX-License-Identifier: MIT */
/* Protocols: names, the ports that name them when no program on this host
 * does, and what a server of each says before it closes an idle
 * connection (the bytes a client finds unread before the FIN). */
#include "catalog/catalog.h"

#include <string.h>

struct proto_row {
    const char *name;
    unsigned short ports[6]; /* well-known ports, 0-terminated */
    const char *goodbye;
};

static const struct proto_row protos[P_COUNT] = {
    [P_NONE] = {"", {0}, ""},
    [P_HTTP] = {"http", {80, 443, 8080, 8000, 8443, 0}, ""},
    [P_FASTCGI] = {"fastcgi", {9000, 0}, ""},
    [P_UWSGI] = {"uwsgi", {0}, ""},
    [P_POSTGRESQL] = {"postgresql", {5432, 6432, 0},
                      "PostgreSQL sends an ErrorResponse (FATAL, e.g. \"terminating connection due "
                      "to idle-session timeout\") before its FIN"},
    [P_MYSQL] = {"mysql", {3306, 0},
                 "MySQL 8.0.24+ sends an error packet (ER_CLIENT_INTERACTION_TIMEOUT) before its "
                 "FIN; MariaDB (wait_timeout) sends nothing and resets the connection (SO_LINGER 0), "
                 "which leaves its clients no CLOSE_WAIT"},
    [P_REDIS] = {"redis", {6379, 0}, ""},
    [P_MEMCACHED] = {"memcached", {11211, 0}, ""},
    [P_SMTP] = {"smtp", {25, 587, 465, 0}, "an SMTP server sends \"421 timeout\" before its FIN"},
    [P_AMQP] = {"amqp", {5672, 0}, ""},
    [P_MONGODB] = {"mongodb", {27017, 0}, ""},
    [P_LDAP] = {"ldap", {389, 636, 0}, "an LDAP server may send a Notice of Disconnection"},
};

const char *catalog_proto_name(enum cat_proto p)
{
    return p < P_COUNT ? protos[p].name : "";
}

enum cat_proto catalog_proto_of_port(unsigned port)
{
    for (int p = 1; p < P_COUNT; p++)
        for (const unsigned short *q = protos[p].ports; *q; q++)
            if (*q == port)
                return (enum cat_proto)p;
    return P_NONE;
}

const char *catalog_proto_goodbye(enum cat_proto p)
{
    return p < P_COUNT ? protos[p].goodbye : "";
}

enum cat_proto catalog_proto_by_name(const char *name)
{
    for (int p = 1; name && p < P_COUNT; p++)
        if (!strcmp(protos[p].name, name))
            return (enum cat_proto)p;
    return P_NONE;
}
