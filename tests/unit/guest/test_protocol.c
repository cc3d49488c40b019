/* guest/protocol.h: framing and field parsing must reject every malformed input. */
#include <criterion/criterion.h>
#include <string.h>

#include "protocol.h"

static size_t put_field(uint8_t *p, uint16_t tag, const void *v, uint32_t n)
{
    guest_put_u16(p, tag);
    guest_put_u32(p + 2, n);
    memcpy(p + 6, v, n);
    return 6 + n;
}

Test(protocol, header_roundtrip)
{
    uint8_t h[GUEST_HDR_LEN];
    guest_hdr_encode(h, GUEST_MSG_EXEC, 0x01020304);
    cr_assert_eq(guest_get_u32(h), 0x01020304u);
    cr_assert_eq(guest_get_u16(h + 4), GUEST_MSG_EXEC);
    cr_assert_eq(guest_get_u16(h + 6), 0);
    cr_assert_eq(h[0], 0x04, "little-endian on the wire");
}

Test(protocol, fields_in_order)
{
    uint8_t buf[64];
    size_t n = put_field(buf, GUEST_F_ARG, "sh", 2);
    uint8_t v[4];
    guest_put_u32(v, 7);
    n += put_field(buf + n, GUEST_F_TTY, v, 4);
    n += put_field(buf + n, GUEST_F_CWD, "", 0);
    guest_fields f;
    guest_fields_init(&f, buf, n);
    uint16_t tag;
    const uint8_t *val;
    uint32_t len, u;
    cr_assert(guest_fields_next(&f, &tag, &val, &len));
    cr_assert_eq(tag, GUEST_F_ARG);
    cr_assert_eq(len, 2);
    cr_assert(memcmp(val, "sh", 2) == 0);
    cr_assert(guest_fields_next(&f, &tag, &val, &len));
    cr_assert(guest_field_u32(val, len, &u));
    cr_assert_eq(u, 7);
    cr_assert(guest_fields_next(&f, &tag, &val, &len));
    cr_assert_eq(len, 0);
    cr_assert_not(guest_fields_next(&f, &tag, &val, &len));
    cr_assert_not(f.bad);
}

Test(protocol, truncated_field_header)
{
    uint8_t buf[5] = {1, 0, 0, 0, 0};
    guest_fields f;
    guest_fields_init(&f, buf, sizeof buf);
    uint16_t tag;
    const uint8_t *val;
    uint32_t len;
    cr_assert_not(guest_fields_next(&f, &tag, &val, &len));
    cr_assert(f.bad);
}

Test(protocol, length_past_end)
{
    uint8_t buf[16];
    size_t n = put_field(buf, GUEST_F_ARG, "abcd", 4);
    guest_put_u32(buf + 2, 5); /* claims one byte more than there is */
    guest_fields f;
    guest_fields_init(&f, buf, n);
    uint16_t tag;
    const uint8_t *val;
    uint32_t len;
    cr_assert_not(guest_fields_next(&f, &tag, &val, &len));
    cr_assert(f.bad);
    guest_put_u32(buf + 2, 0xffffffffu); /* and an overflowing length */
    guest_fields_init(&f, buf, n);
    cr_assert_not(guest_fields_next(&f, &tag, &val, &len));
    cr_assert(f.bad);
}

Test(protocol, integer_sizes_are_strict)
{
    uint8_t v[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    uint32_t u;
    uint64_t w;
    cr_assert_not(guest_field_u32(v, 3, &u));
    cr_assert_not(guest_field_u32(v, 8, &u));
    cr_assert(guest_field_u32(v, 4, &u));
    cr_assert_not(guest_field_u64(v, 4, &w));
    cr_assert(guest_field_u64(v, 8, &w));
    cr_assert_eq(w, 1);
}

Test(protocol, strings_without_nul)
{
    cr_assert(guest_field_str_ok((const uint8_t *)"abc", 3));
    cr_assert_not(guest_field_str_ok((const uint8_t *)"a\0c", 3));
}

/* The one field writer both sides use produces exactly what the reader accepts, byte for
 * byte as the hand-built frame (put_field), including nested fields and growth past 256. */
Test(protocol, writer_matches_reader)
{
    guest_msg inner = {0};
    guest_msg_str(&inner, GUEST_F_DISK_ID, "l0");
    guest_msg_u32(&inner, GUEST_F_DISK_LUN, 3);
    guest_msg m = {0};
    guest_msg_u32(&m, GUEST_F_NETWORK, 1);
    guest_msg_u64(&m, GUEST_F_MOUNT_SIZE, 0x0102030405060708ull);
    guest_msg_bytes(&m, GUEST_F_DISK, inner.p, inner.len);
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    guest_msg_str(&m, GUEST_F_HOSTS, big);
    guest_msg_bytes(&m, GUEST_F_RESOLV, NULL, 0);

    uint8_t want[64];
    uint8_t v[4];
    guest_put_u32(v, 1);
    size_t n = put_field(want, GUEST_F_NETWORK, v, 4);
    cr_assert(m.len > n && memcmp(m.p, want, n) == 0, "u32 field as on the wire");

    guest_fields f;
    uint16_t tag;
    const uint8_t *val;
    uint32_t vlen, u;
    uint64_t u64;
    guest_fields_init(&f, m.p, m.len);
    cr_assert(guest_fields_next(&f, &tag, &val, &vlen) && tag == GUEST_F_NETWORK && guest_field_u32(val, vlen, &u));
    cr_assert_eq(u, 1u);
    cr_assert(guest_fields_next(&f, &tag, &val, &vlen) && tag == GUEST_F_MOUNT_SIZE && guest_field_u64(val, vlen, &u64));
    cr_assert_eq(u64, 0x0102030405060708ull);
    cr_assert(guest_fields_next(&f, &tag, &val, &vlen) && tag == GUEST_F_DISK && vlen == inner.len);
    guest_fields g;
    guest_fields_init(&g, val, vlen);
    const uint8_t *iv;
    uint32_t ilen;
    cr_assert(guest_fields_next(&g, &tag, &iv, &ilen) && tag == GUEST_F_DISK_ID && ilen == 2 && !memcmp(iv, "l0", 2));
    cr_assert(guest_fields_next(&g, &tag, &iv, &ilen) && tag == GUEST_F_DISK_LUN && guest_field_u32(iv, ilen, &u) && u == 3);
    cr_assert(!guest_fields_next(&g, &tag, &iv, &ilen) && !g.bad);
    cr_assert(guest_fields_next(&f, &tag, &val, &vlen) && tag == GUEST_F_HOSTS && vlen == strlen(big));
    cr_assert(guest_field_str_ok(val, vlen) && val[0] == 'x' && val[vlen - 1] == 'x');
    cr_assert(guest_fields_next(&f, &tag, &val, &vlen) && tag == GUEST_F_RESOLV && vlen == 0);
    cr_assert(!guest_fields_next(&f, &tag, &val, &vlen) && !f.bad);

    guest_msg_reset(&m);
    cr_assert_eq(m.len, 0u);
    guest_msg_free(&m);
    guest_msg_free(&inner);
    cr_assert_null(m.p);
}
