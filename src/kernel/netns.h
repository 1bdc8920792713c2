/* Entering a named network namespace (/run/netns/NAME, as `ip netns` makes
 * them), like `ip -n NAME`. Error convention: 0 ok, -1 with message in err. */
#ifndef CLOSER_KERNEL_NETNS_H
#define CLOSER_KERNEL_NETNS_H
#include <stddef.h>

int netns_enter(const char *name, char *err, size_t errlen);

#endif
