/* libFuzzer target: vminitd's parsers for the host's CONFIG and EXEC messages (the guest
 * side of guest/protocol.h). Input: first byte picks the message, the rest is its payload.
 * Build: clang -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iguest \
 *          tests/fuzz/guest_msg_fuzz.c -o guest_msg_fuzz */
#include <stdarg.h>

#include "../../guest/vminitd/util.c"
#include "../../guest/vminitd/config.c"

int ctl_send(uint16_t type, const void *payload, size_t len)
{
    (void)type;
    (void)payload;
    (void)len;
    return 0;
}

int ctl_send_error(uint32_t kind, int errnum, const char *fmt, ...)
{
    (void)kind;
    (void)errnum;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (data[0] & 1) {
        config c;
        if (config_parse(data + 1, size - 1, &c) == 0) {
            /* invariants the rest of vminitd relies on */
            if (!c.hostname) __builtin_trap();
            for (size_t i = 0; i < c.n_mounts; i++)
                if (!c.mounts[i].target || c.mounts[i].target[0] != '/') __builtin_trap();
        }
        config_free(&c);
    } else {
        execspec e;
        if (execspec_parse(data + 1, size - 1, &e) == 0) {
            if (!e.argv || !e.argv[0] || e.argv[e.argc] || !e.cwd) __builtin_trap();
        }
        execspec_free(&e);
    }
    return 0;
}
