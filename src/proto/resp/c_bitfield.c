/*
 * c_bitfield.c — BITFIELD and BITFIELD_RO (Redis 7.0's bitops.c).
 *
 * BITFIELD key [GET type offset] [SET type offset value] [INCRBY type
 * offset increment] [OVERFLOW WRAP|SAT|FAIL] ...: every operation is
 * parsed and checked first (the first bad one answers its error and
 * nothing runs), then they run in order on one copy of the string, each
 * seeing the ones before it. Types are i1..i64 and u1..u63; an offset
 * "#n" means n * width. Bits are numbered from the most significant bit of
 * byte 0, as SETBIT's. Overflow handling follows 7.0's
 * check{Unsigned,Signed}BitfieldOverflow, quirks included (a SET value out
 * of range overflows too; FAIL answers a null for that operation and
 * skips it).
 *
 * Strings are immutable in the keyspace, so the result is written whole
 * with one ks_set that keeps the TTL, when the string had to be created or
 * grown or a value changed — the same cases in which Redis dirties it —
 * and the replies go out after it (a failed write answers its error).
 * The largest write offset is bounded by proto-max-bulk-len before
 * anything is allocated. Loop thread only.
 */
#include "proto/resp/c_types.h"

#include "broker/num.h"
#include "core/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { OP_GET, OP_SET, OP_INCRBY };
enum { OV_WRAP, OV_SAT, OV_FAIL };

typedef struct {
	uint64_t offset;
	int64_t arg;
	int op, ov, sign, bits;
} bf_op_t;

static const char type_err[] = "ERR Invalid bitfield type. Use something like i16 u8. Note "
                               "that u64 is not supported but i64 is.";

/* "i<1..64>" or "u<1..63>". */
static int parse_type(resp_cli_t *cl, const resp_arg_t *a, int *sign, int *bits)
{
	int64_t n;
	if (a->len < 2 || (a->p[0] != 'i' && a->p[0] != 'u') ||
	    num_str2ll(a->p + 1, a->len - 1, &n) < 0) {
		resp_error(cl->out, type_err);
		return -1;
	}
	*sign = a->p[0] == 'i';
	if (n < 1 || n > (*sign ? 64 : 63)) {
		resp_error(cl->out, type_err);
		return -1;
	}
	*bits = (int)n;
	return 0;
}

/* getBitOffsetFromArgument with the "#" form; the offset's byte must fall
 * below proto-max-bulk-len (so a write never grows past it). */
static int parse_offset(resp_cli_t *cl, const resp_arg_t *a, int bits, uint64_t *off)
{
	int hash = a->len > 0 && a->p[0] == '#';
	int64_t v;
	if (num_str2ll(a->p + hash, a->len - hash, &v) < 0 ||
	    (hash && (v > INT64_MAX / bits || v < INT64_MIN / bits)))
		goto bad;
	if (hash)
		v *= bits;
	if (v < 0 || (v >> 3) >= cl->srv->cfg->proto_max_bulk_len)
		goto bad;
	*off = (uint64_t)v;
	return 0;
bad:
	resp_error(cl->out, "ERR bit offset is not an integer or out of range");
	return -1;
}

static uint64_t get_bits(const unsigned char *p, uint64_t off, int bits)
{
	uint64_t v = 0;
	for (int i = 0; i < bits; i++, off++)
		v = v << 1 | ((p[off >> 3] >> (7 - (off & 7))) & 1);
	return v;
}

static void set_bits(unsigned char *p, uint64_t off, int bits, uint64_t v)
{
	for (int i = bits - 1; i >= 0; i--, off++) {
		unsigned char m = (unsigned char)(1u << (7 - (off & 7)));
		if (v >> i & 1)
			p[off >> 3] |= m;
		else
			p[off >> 3] &= (unsigned char)~m;
	}
}

static int64_t sign_extend(uint64_t v, int bits)
{
	if (bits < 64 && (v >> (bits - 1) & 1))
		v |= UINT64_MAX << bits;
	return (int64_t)v;
}

/* value + incr in an unsigned field of bits: 0, or 1/-1 on overflow with
 * *out what the policy stores (wrapped or saturated). */
static int add_unsigned(uint64_t value, int64_t incr, int bits, int ov, uint64_t *out)
{
	uint64_t max = (UINT64_C(1) << bits) - 1; /* bits <= 63 */
	int dir = 0;
	if (value > max || (incr > 0 && (uint64_t)incr > max - value))
		dir = 1;
	else if (incr < 0 && (uint64_t)0 - (uint64_t)incr > value)
		dir = -1;
	if (!dir)
		*out = value + (uint64_t)incr;
	else if (ov == OV_WRAP)
		*out = (value + (uint64_t)incr) & max;
	else if (ov == OV_SAT)
		*out = dir > 0 ? max : 0;
	else
		*out = value; /* FAIL: nothing is stored */
	return dir;
}

/* The same for a signed field. */
static int add_signed(int64_t value, int64_t incr, int bits, int ov, int64_t *out)
{
	int64_t max = bits == 64 ? INT64_MAX : (int64_t)((UINT64_C(1) << (bits - 1)) - 1);
	int64_t min = -max - 1;
	int dir = 0;
	/* 7.0's tests, its wrap-around included: the differences are taken
	 * modulo 2^64, so a SET far below min (max - value past INT64_MAX)
	 * counts as overflowing upwards and SAT stores max, as Redis does. */
	int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);
	int64_t minincr = (int64_t)((uint64_t)min - (uint64_t)value);
	if (value > max || (bits != 64 && incr > maxincr) ||
	    (value >= 0 && incr > 0 && incr > maxincr))
		dir = 1;
	else if (value < min || (bits != 64 && incr < minincr) ||
	         (value < 0 && incr < 0 && incr < minincr))
		dir = -1;
	if (!dir) {
		*out = value + incr;
	} else if (ov == OV_WRAP) {
		uint64_t c = (uint64_t)value + (uint64_t)incr;
		*out = sign_extend(bits < 64 ? c & ((UINT64_C(1) << bits) - 1) : c, bits);
	} else if (ov == OV_SAT) {
		*out = dir > 0 ? max : min;
	} else {
		*out = value; /* FAIL: nothing is stored */
	}
	return dir;
}

/* Parses every operation; -1 after replying the first error. */
static int parse_ops(resp_cli_t *cl, int argc, resp_arg_t *argv, bf_op_t *ops, int *nops,
                     uint64_t *hi, int *writes)
{
	int ov = OV_WRAP;
	*nops = 0;
	*writes = 0;
	*hi = 0;
	for (int j = 2; j < argc; j++) {
		int left = argc - j - 1, op;
		if (resp_arg_is(&argv[j], "get") && left >= 2) {
			op = OP_GET;
		} else if (resp_arg_is(&argv[j], "set") && left >= 3) {
			op = OP_SET;
		} else if (resp_arg_is(&argv[j], "incrby") && left >= 3) {
			op = OP_INCRBY;
		} else if (resp_arg_is(&argv[j], "overflow") && left >= 1) {
			const resp_arg_t *t = &argv[++j];
			if (resp_arg_is(t, "wrap"))
				ov = OV_WRAP;
			else if (resp_arg_is(t, "sat"))
				ov = OV_SAT;
			else if (resp_arg_is(t, "fail"))
				ov = OV_FAIL;
			else {
				resp_error(cl->out, "ERR Invalid OVERFLOW type specified");
				return -1;
			}
			continue;
		} else {
			resp_err_syntax(cl);
			return -1;
		}
		bf_op_t *o = &ops[(*nops)++];
		*o = (bf_op_t){.op = op, .ov = ov};
		if (parse_type(cl, &argv[j + 1], &o->sign, &o->bits) < 0 ||
		    parse_offset(cl, &argv[j + 2], o->bits, &o->offset) < 0)
			return -1;
		if (op != OP_GET) {
			*writes = 1;
			if (*hi < o->offset + (uint64_t)o->bits - 1)
				*hi = o->offset + (uint64_t)o->bits - 1;
			if (resp_arg_ll_or_reply(cl, &argv[j + 3], &o->arg) < 0)
				return -1;
		}
		j += op == OP_GET ? 2 : 3;
	}
	return 0;
}

/* Runs o on s[0..len) (which holds every field written; GETs past the
 * end read zeros): *res its reply, *null for FAIL's null. Returns 1 if the
 * stored value changed. */
static int run_op(const bf_op_t *o, unsigned char *s, size_t len, int64_t *res, int *null)
{
	*null = 0;
	if (o->op == OP_GET) {
		/* Up to 9 bytes (a 64-bit field at any bit offset), zero-padded. */
		unsigned char w[9] = {0};
		uint64_t byte = o->offset >> 3;
		for (uint64_t i = 0; i < 9 && byte + i < len; i++)
			w[i] = s[byte + i];
		uint64_t v = get_bits(w, o->offset & 7, o->bits);
		*res = o->sign ? sign_extend(v, o->bits) : (int64_t)v;
		return 0;
	}
	uint64_t raw = get_bits(s, o->offset, o->bits), store;
	int64_t reply;
	int over;
	if (o->sign) {
		int64_t old = sign_extend(raw, o->bits), nv;
		if (o->op == OP_INCRBY)
			over = add_signed(old, o->arg, o->bits, o->ov, &nv);
		else
			over = add_signed(o->arg, 0, o->bits, o->ov, &nv);
		reply = o->op == OP_INCRBY ? nv : old;
		store = (uint64_t)nv;
	} else {
		uint64_t nv;
		if (o->op == OP_INCRBY)
			over = add_unsigned(raw, o->arg, o->bits, o->ov, &nv);
		else
			over = add_unsigned((uint64_t)o->arg, 0, o->bits, o->ov, &nv);
		reply = o->op == OP_INCRBY ? (int64_t)nv : (int64_t)raw;
		store = nv;
	}
	if (over && o->ov == OV_FAIL) {
		*null = 1;
		return 0;
	}
	if (o->bits < 64)
		store &= (UINT64_C(1) << o->bits) - 1;
	*res = reply;
	set_bits(s, o->offset, o->bits, store);
	return store != raw;
}

static int bitfield(resp_cli_t *cl, int argc, resp_arg_t *argv, int ro)
{
	/* Each operation takes at least three arguments. */
	bf_op_t *ops = malloc(((size_t)argc / 3 + 1) * sizeof *ops);
	if (!ops)
		abort();
	int nops, writes;
	uint64_t hi;
	unsigned char *s = NULL;
	if (parse_ops(cl, argc, argv, ops, &nops, &hi, &writes) < 0)
		goto done;
	if (writes && ro) {
		resp_error(cl->out, "ERR BITFIELD_RO only supports the GET subcommand");
		goto done;
	}
	ks_obj_t *o = ks_find(cl->srv->ks, argv[1].p, argv[1].len);
	if (o && o->type != KS_STRING) {
		resp_err_wrongtype(cl);
		goto done;
	}
	const qlv_t *v = o ? o->ptr : NULL;
	size_t old = v ? v->len : 0, len = old;
	if (writes && (hi >> 3) + 1 > len)
		len = (size_t)(hi >> 3) + 1;
	s = calloc(len ? len : 1, 1);
	if (!s)
		abort();
	if (old)
		memcpy(s, v->p, old);
	/* 7.0 creates or grows the string even if every operation fails. */
	int dirty = writes && (!o || len != old);
	/* Replies are collected first: a failed write answers its error alone. */
	int64_t *res = malloc((size_t)(nops ? nops : 1) * sizeof *res);
	char *null = malloc((size_t)(nops ? nops : 1));
	if (!res || !null)
		abort();
	for (int i = 0; i < nops; i++) {
		int isnull;
		dirty |= run_op(&ops[i], s, len, &res[i], &isnull);
		null[i] = (char)isnull;
	}
	int rc = dirty ? ks_set(cl->srv->ks, argv[1].p, argv[1].len, s, len, -1) : 0;
	if (rc < 0) {
		resp_err_ks(cl, rc);
	} else {
		resp_array(cl->out, (size_t)nops);
		for (int i = 0; i < nops; i++) {
			if (null[i])
				resp_null(cl->out, cl->proto);
			else
				resp_int(cl->out, res[i]);
		}
	}
	free(res);
	free(null);
done:
	free(ops);
	free(s);
	return 0;
}

RESP_HANDLER(resp_c_bitfield)
{
	return bitfield(cl, argc, argv, 0);
}

RESP_HANDLER(resp_c_bitfield_ro)
{
	return bitfield(cl, argc, argv, 1);
}
