#include "server/status.h"

struct srv_status srv_status;

const char *close_cause_name(enum close_cause c)
{
    static const char *const n[CAUSE_MAX] = {
        "client_closed", "keepalive_off", "client_asked_close", "http10", "idle_timeout",
        "request_cap",   "keepalive_time", "error", "timeout", "reset", "shutdown"};
    return c < CAUSE_MAX ? n[c] : "unknown";
}

#define LD(x) atomic_load_explicit(&srv_status.x, memory_order_relaxed)

size_t srv_status_render(char *buf, size_t len, int json)
{
    size_t off = 0;
#define PUT(...)                                                                      \
    do {                                                                              \
        int w_ = snprintf(buf + off, off < len ? len - off : 0, __VA_ARGS__);          \
        if (w_ > 0)                                                                   \
            off += (size_t)w_;                                                        \
    } while (0)
    if (json) {
        PUT("{\"active\":%lld,\"accepted\":%llu,\"handled\":%llu,\"requests\":%llu,"
            "\"reading\":%lld,\"writing\":%lld,\"waiting\":%lld,\"closed\":{",
            LD(active), LD(accepted), LD(handled), LD(requests), LD(reading), LD(writing),
            LD(waiting));
        for (int c = 0; c < CAUSE_MAX; c++)
            PUT("%s\"%s\":%llu", c ? "," : "", close_cause_name(c), LD(closed[c]));
        PUT("}}\n");
    } else {
        PUT("Active connections: %lld\nserver accepts handled requests\n %llu %llu %llu\n"
            "Reading: %lld Writing: %lld Waiting: %lld\n",
            LD(active), LD(accepted), LD(handled), LD(requests), LD(reading), LD(writing),
            LD(waiting));
        PUT("Closed by cause:");
        for (int c = 0; c < CAUSE_MAX; c++)
            PUT(" %s=%llu", close_cause_name(c), LD(closed[c]));
        PUT("\n");
    }
#undef PUT
    return off < len ? off : len;
}
