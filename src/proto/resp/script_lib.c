/*
 * script_lib.c — what the Lua engine (script_lua.c) needs beyond Lua and
 * Debian's lua-cjson / lua-bitop: SHA1 (script names, redis.sha1hex), the
 * `struct` and `cmsgpack` libraries Redis gives scripts, and math.random
 * as Redis's rand48 generator.
 *
 * struct: pack, unpack, size over the formats scripts use: endianness
 * '<' '>' '=', alignment '!'[n], 'x' padding, integers b B h H l L T
 * i[n] I[n], floats f d, strings s (NUL-terminated) and c[n] (fixed;
 * 'c0' in unpack takes its length from the previous value). Alignment and
 * the 'c0' rule follow Roberto Ierusalimschy's struct library that Redis
 * embeds.
 *
 * cmsgpack: pack(...) (each argument encoded, concatenated), unpack(s)
 * (every value), unpack_one(s[, offset]). Encoding as Redis's cmsgpack: a
 * number that is an int64 uses the smallest integer form, other numbers
 * float32 when that is exact, else float64; a table whose keys are
 * exactly 1..n is an array, any other a map; nesting deeper than 16
 * encodes nil.
 *
 * math.random: drand48's recurrence (a = 0x5DEECE66D, c = 0xB, 48 bits),
 * r = (lrand48 % INT32_MAX) / INT32_MAX, as Redis's patched lmathlib; the
 * state lives in the engine and persists across scripts, as in 7.0.
 * Loop thread only.
 */
#include "proto/resp/script_lua.h"

#include <lua5.1/lauxlib.h>
#include <lua5.1/lua.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

/* --- SHA1 (FIPS 180-1) ---------------------------------------------------------- */

static uint32_t rol32(uint32_t v, int n)
{
	return (v << n) | (v >> (32 - n));
}

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[80];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	for (int i = 0; i < 80; i++) {
		uint32_t f, k;
		if (i < 20)
			f = (b & c) | (~b & d), k = 0x5A827999;
		else if (i < 40)
			f = b ^ c ^ d, k = 0x6ED9EBA1;
		else if (i < 60)
			f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
		else
			f = b ^ c ^ d, k = 0xCA62C1D6;
		uint32_t t = rol32(a, 5) + f + e + k + w[i];
		e = d, d = c, c = rol32(b, 30), b = a, a = t;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

void resp_lua_sha1hex(const void *data, size_t n, char out[41])
{
	uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
	const uint8_t *p = data;
	size_t left = n;
	for (; left >= 64; left -= 64, p += 64)
		sha1_block(h, p);
	uint8_t tail[128] = {0};
	memcpy(tail, p, left);
	tail[left] = 0x80;
	size_t tl = left + 1 + 8 <= 64 ? 64 : 128;
	uint64_t bits = (uint64_t)n * 8;
	for (int i = 0; i < 8; i++)
		tail[tl - 1 - (size_t)i] = (uint8_t)(bits >> (8 * i));
	sha1_block(h, tail);
	if (tl == 128)
		sha1_block(h, tail + 64);
	for (int i = 0; i < 5; i++)
		snprintf(out + 8 * i, 9, "%08x", h[i]);
}

/* --- math.random (rand48) ------------------------------------------------------- */

static int32_t lrand48_next(uint64_t *x)
{
	*x = (*x * 0x5DEECE66DULL + 0xB) & ((1ULL << 48) - 1);
	return (int32_t)(*x >> 17);
}

static int l_random(lua_State *L)
{
	uint64_t *x = lua_touserdata(L, lua_upvalueindex(1));
	lua_Number r = (lua_Number)(lrand48_next(x) % INT32_MAX) / (lua_Number)INT32_MAX;
	switch (lua_gettop(L)) {
	case 0:
		lua_pushnumber(L, r);
		break;
	case 1: {
		int u = luaL_checkint(L, 1);
		luaL_argcheck(L, 1 <= u, 1, "interval is empty");
		lua_pushnumber(L, floor(r * u) + 1);
		break;
	}
	case 2: {
		int l = luaL_checkint(L, 1), u = luaL_checkint(L, 2);
		luaL_argcheck(L, l <= u, 2, "interval is empty");
		lua_pushnumber(L, floor(r * (u - l + 1)) + l);
		break;
	}
	default:
		return luaL_error(L, "wrong number of arguments");
	}
	return 1;
}

static int l_randomseed(lua_State *L)
{
	uint64_t *x = lua_touserdata(L, lua_upvalueindex(1));
	uint32_t seed = (uint32_t)luaL_checkint(L, 1);
	*x = ((uint64_t)seed << 16) | 0x330E;
	return 0;
}

void resp_lua_rand_install(lua_State *L, uint64_t *state)
{
	lua_getglobal(L, "math");
	lua_pushlightuserdata(L, state);
	lua_pushcclosure(L, l_random, 1);
	lua_setfield(L, -2, "random");
	lua_pushlightuserdata(L, state);
	lua_pushcclosure(L, l_randomseed, 1);
	lua_setfield(L, -2, "randomseed");
	lua_pop(L, 1);
}

/* --- struct --------------------------------------------------------------------- */

typedef struct {
	int little;
	size_t align;
} st_hdr_t;

static int st_digit(const char **f, int def)
{
	if (!(**f >= '0' && **f <= '9'))
		return def;
	int a = 0;
	do {
		a = a * 10 + *((*f)++) - '0';
	} while (**f >= '0' && **f <= '9' && a < 100000);
	return a;
}

/* The size of the next option, applying the option's side effects on h;
 * 0 for options that take no room. */
static size_t st_optsize(lua_State *L, char opt, const char **f, st_hdr_t *h)
{
	switch (opt) {
	case 'B':
	case 'b':
	case 'x':
		return 1;
	case 'H':
	case 'h':
		return 2;
	case 'L':
	case 'l':
	case 'T':
		return 8;
	case 'f':
		return sizeof(float);
	case 'd':
		return sizeof(double);
	case 'c':
		return (size_t)st_digit(f, 1);
	case 'i':
	case 'I': {
		int sz = st_digit(f, 4);
		if (sz > 8)
			luaL_error(L, "integral size %d is larger than limit of %d", sz, 8);
		return (size_t)sz;
	}
	case '<':
		h->little = 1;
		return 0;
	case '>':
		h->little = 0;
		return 0;
	case '=':
		h->little = 1;
		return 0;
	case '!': {
		int a = st_digit(f, 8);
		if (a & (a - 1))
			luaL_error(L, "alignment %d is not a power of 2", a);
		h->align = (size_t)a;
		return 0;
	}
	case ' ':
	case 's':
		return 0;
	default:
		luaL_error(L, "invalid format option '%c'", opt);
		return 0;
	}
}

static size_t st_gap(char opt, size_t size, size_t len, const st_hdr_t *h)
{
	if (opt == 'c' || opt == 's' || size <= 1)
		return 0;
	size_t a = size < h->align ? size : h->align;
	if (a <= 1)
		return 0;
	return (a - (len & (a - 1))) & (a - 1);
}

static void st_putint(luaL_Buffer *b, uint64_t v, int little, size_t size)
{
	char buf[8];
	for (size_t i = 0; i < size; i++) {
		buf[little ? i : size - 1 - i] = (char)(v & 0xff);
		v >>= 8;
	}
	luaL_addlstring(b, buf, size);
}

static int st_pack(lua_State *L)
{
	const char *f = luaL_checkstring(L, 1);
	st_hdr_t h = {1, 1};
	int arg = 2;
	size_t tot = 0;
	luaL_Buffer b;
	lua_pushnil(L); /* the buffer's slot must not move the arguments */
	luaL_buffinit(L, &b);
	while (*f) {
		char opt = *f++;
		size_t size = st_optsize(L, opt, &f, &h);
		size_t gap = st_gap(opt, size, tot, &h);
		tot += gap;
		while (gap--)
			luaL_addchar(&b, '\0');
		switch (opt) {
		case 'b':
		case 'B':
		case 'h':
		case 'H':
		case 'l':
		case 'L':
		case 'T':
		case 'i':
		case 'I': {
			lua_Number n = luaL_checknumber(L, arg++);
			uint64_t v = n < 0 ? (uint64_t)(int64_t)n : (uint64_t)n;
			st_putint(&b, v, h.little, size);
			break;
		}
		case 'x':
			luaL_addchar(&b, '\0');
			break;
		case 'f': {
			float v = (float)luaL_checknumber(L, arg++);
			uint32_t u;
			memcpy(&u, &v, 4);
			st_putint(&b, u, h.little, 4);
			break;
		}
		case 'd': {
			double v = luaL_checknumber(L, arg++);
			uint64_t u;
			memcpy(&u, &v, 8);
			st_putint(&b, u, h.little, 8);
			break;
		}
		case 'c':
		case 's': {
			size_t l;
			const char *s = luaL_checklstring(L, arg++, &l);
			if (size == 0)
				size = l;
			luaL_argcheck(L, l >= size, arg - 1, "string too short");
			luaL_addlstring(&b, s, size);
			if (opt == 's') {
				luaL_addchar(&b, '\0');
				size++;
			}
			break;
		}
		default:
			break;
		}
		tot += size;
	}
	luaL_pushresult(&b);
	return 1;
}

static int st_unpack(lua_State *L)
{
	const char *f = luaL_checkstring(L, 1);
	size_t ld;
	const char *data = luaL_checklstring(L, 2, &ld);
	size_t pos = (size_t)luaL_optinteger(L, 3, 1) - 1;
	st_hdr_t h = {1, 1};
	luaL_argcheck(L, pos <= ld, 3, "offset must be 1 or greater");
	lua_settop(L, 2);
	while (*f) {
		char opt = *f++;
		size_t size = st_optsize(L, opt, &f, &h);
		pos += st_gap(opt, size, pos, &h);
		luaL_argcheck(L, pos + size <= ld, 2, "data string too short");
		luaL_checkstack(L, 2, "too many results");
		switch (opt) {
		case 'b':
		case 'B':
		case 'h':
		case 'H':
		case 'l':
		case 'L':
		case 'T':
		case 'i':
		case 'I': {
			uint64_t v = 0;
			for (size_t i = 0; i < size; i++) {
				uint8_t c = (uint8_t)data[pos + (h.little ? size - 1 - i : i)];
				v = (v << 8) | c;
			}
			int issigned = opt == 'b' || opt == 'h' || opt == 'l' || opt == 'i';
			if (issigned && size < 8 && size > 0) {
				uint64_t m = 1ULL << (size * 8 - 1);
				v = (v ^ m) - m;
			}
			lua_pushnumber(L, issigned ? (lua_Number)(int64_t)v : (lua_Number)v);
			break;
		}
		case 'x':
			break;
		case 'f': {
			uint32_t u = 0;
			for (size_t i = 0; i < 4; i++)
				u = (u << 8) | (uint8_t)data[pos + (h.little ? 3 - i : i)];
			float v;
			memcpy(&v, &u, 4);
			lua_pushnumber(L, v);
			break;
		}
		case 'd': {
			uint64_t u = 0;
			for (size_t i = 0; i < 8; i++)
				u = (u << 8) | (uint8_t)data[pos + (h.little ? 7 - i : i)];
			double v;
			memcpy(&v, &u, 8);
			lua_pushnumber(L, v);
			break;
		}
		case 'c':
			if (size == 0) {
				if (lua_gettop(L) < 3 || !lua_isnumber(L, -1))
					luaL_error(L, "format 'c0' needs a previous size");
				size = (size_t)lua_tonumber(L, -1);
				lua_pop(L, 1);
				luaL_argcheck(L, pos + size <= ld, 2, "data string too short");
			}
			lua_pushlstring(L, data + pos, size);
			break;
		case 's': {
			const char *e = memchr(data + pos, 0, ld - pos);
			if (!e)
				luaL_error(L, "unfinished string in data");
			size = (size_t)(e - (data + pos)) + 1;
			lua_pushlstring(L, data + pos, size - 1);
			break;
		}
		default:
			break;
		}
		pos += size;
	}
	lua_pushinteger(L, (lua_Integer)pos + 1);
	return lua_gettop(L) - 2;
}

static int st_size(lua_State *L)
{
	const char *f = luaL_checkstring(L, 1);
	st_hdr_t h = {1, 1};
	size_t pos = 0;
	while (*f) {
		char opt = *f++;
		size_t size = st_optsize(L, opt, &f, &h);
		pos += st_gap(opt, size, pos, &h);
		if (opt == 's')
			luaL_argerror(L, 1, "options 's' has no fixed size");
		else if (opt == 'c' && size == 0)
			luaL_argerror(L, 1, "options 'c0' has no fixed size");
		pos += size;
	}
	lua_pushinteger(L, (lua_Integer)pos);
	return 1;
}

int resp_lua_open_struct(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"pack", st_pack}, {"unpack", st_unpack}, {"size", st_size}, {NULL, NULL}};
	luaL_register(L, "struct", fns);
	return 1;
}

/* --- cmsgpack ------------------------------------------------------------------- */

#define MP_MAX_NESTING 16

static void mp_put(buf_t *b, uint8_t type, uint64_t v, size_t n)
{
	uint8_t buf[9];
	buf[0] = type;
	for (size_t i = 0; i < n; i++)
		buf[n - i] = (uint8_t)(v >> (8 * i));
	buf_append(b, buf, n + 1);
}

static void mp_int(buf_t *b, int64_t v)
{
	if (v >= 0) {
		if (v <= 127)
			buf_put_u8(b, (uint8_t)v);
		else if (v <= 0xff)
			mp_put(b, 0xcc, (uint64_t)v, 1);
		else if (v <= 0xffff)
			mp_put(b, 0xcd, (uint64_t)v, 2);
		else if (v <= 0xffffffffLL)
			mp_put(b, 0xce, (uint64_t)v, 4);
		else
			mp_put(b, 0xcf, (uint64_t)v, 8);
	} else {
		if (v >= -32)
			buf_put_u8(b, (uint8_t)(0xe0 | (v + 32)));
		else if (v >= -128)
			mp_put(b, 0xd0, (uint64_t)v, 1);
		else if (v >= -32768)
			mp_put(b, 0xd1, (uint64_t)v, 2);
		else if (v >= -2147483648LL)
			mp_put(b, 0xd2, (uint64_t)v, 4);
		else
			mp_put(b, 0xd3, (uint64_t)v, 8);
	}
}

static void mp_len(buf_t *b, size_t n, uint8_t fix, size_t fixmax, uint8_t t8, uint8_t t16,
                   uint8_t t32)
{
	if (n <= fixmax)
		buf_put_u8(b, (uint8_t)(fix | n));
	else if (t8 && n <= 0xff)
		mp_put(b, t8, n, 1);
	else if (n <= 0xffff)
		mp_put(b, t16, n, 2);
	else
		mp_put(b, t32, n, 4);
}

/* Whether the table on top has exactly the keys 1..n (cmsgpack's rule;
 * an empty table is an array). */
static int mp_is_array(lua_State *L)
{
	long count = 0, max = 0;
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		lua_Number n;
		if (lua_type(L, -1) != LUA_TNUMBER || (n = lua_tonumber(L, -1)) <= 0 ||
		    n != (lua_Number)(long)n) {
			lua_pop(L, 1);
			return 0;
		}
		count++;
		if ((long)n > max)
			max = (long)n;
	}
	return max == count;
}

/* Encodes the value on top of the stack into b and pops it. The output is
 * a C buffer, so nothing here raises a Lua error (b cannot leak). */
static void mp_encode(lua_State *L, buf_t *b, int level)
{
	int t = lua_type(L, -1);
	if (t == LUA_TTABLE && (level >= MP_MAX_NESTING || !lua_checkstack(L, 4)))
		t = LUA_TNIL;
	switch (t) {
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, -1, &n);
		mp_len(b, n, 0xa0, 31, 0xd9, 0xda, 0xdb);
		buf_append(b, s, n);
		break;
	}
	case LUA_TBOOLEAN:
		buf_put_u8(b, lua_toboolean(L, -1) ? 0xc3 : 0xc2);
		break;
	case LUA_TNUMBER: {
		lua_Number n = lua_tonumber(L, -1);
		if (n >= -9.2233720368547758e18 && n < 9.2233720368547758e18 &&
		    (lua_Number)(int64_t)n == n) {
			mp_int(b, (int64_t)n);
		} else {
			float f = (float)n;
			if ((double)f == n || isnan(n)) {
				uint32_t u;
				memcpy(&u, &f, 4);
				mp_put(b, 0xca, u, 4);
			} else {
				uint64_t u;
				memcpy(&u, &n, 8);
				mp_put(b, 0xcb, u, 8);
			}
		}
		break;
	}
	case LUA_TTABLE:
		if (mp_is_array(L)) {
			size_t n = lua_objlen(L, -1);
			mp_len(b, n, 0x90, 15, 0, 0xdc, 0xdd);
			for (size_t i = 1; i <= n; i++) {
				lua_rawgeti(L, -1, (int)i);
				mp_encode(L, b, level + 1);
			}
		} else {
			size_t n = 0;
			lua_pushnil(L);
			while (lua_next(L, -2)) {
				lua_pop(L, 1);
				n++;
			}
			mp_len(b, n, 0x80, 15, 0, 0xde, 0xdf);
			lua_pushnil(L);
			while (lua_next(L, -2)) {
				lua_pushvalue(L, -2); /* key, value, key */
				mp_encode(L, b, level + 1);
				mp_encode(L, b,
				          level + 1); /* the value; the key stays for lua_next */
			}
		}
		break;
	default:
		buf_put_u8(b, 0xc0);
		break;
	}
	lua_pop(L, 1);
}

static int mp_pack(lua_State *L)
{
	int n = lua_gettop(L);
	if (n == 0)
		return luaL_argerror(L, 0, "MessagePack pack needs input.");
	buf_t b = BUF_INIT;
	for (int i = 1; i <= n; i++) {
		lua_pushvalue(L, i);
		mp_encode(L, &b, 0);
	}
	lua_pushlstring(L, (const char *)buf_data(&b), buf_len(&b));
	buf_deinit(&b);
	return 1;
}

typedef struct {
	const uint8_t *p;
	size_t n, pos;
	int err; /* 1: missing bytes, 2: bad format */
} mp_cur_t;

static uint64_t mp_get(mp_cur_t *c, size_t n)
{
	if (c->err || c->n - c->pos < n) {
		c->err = c->err ? c->err : 1;
		return 0;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | c->p[c->pos + i];
	c->pos += n;
	return v;
}

static void mp_decode(lua_State *L, mp_cur_t *c, int level);

static void mp_decode_str(lua_State *L, mp_cur_t *c, size_t n)
{
	if (c->err || c->n - c->pos < n) {
		c->err = c->err ? c->err : 1;
		lua_pushnil(L);
		return;
	}
	lua_pushlstring(L, (const char *)c->p + c->pos, n);
	c->pos += n;
}

static void mp_decode_array(lua_State *L, mp_cur_t *c, size_t n, int level)
{
	lua_newtable(L);
	for (size_t i = 1; i <= n && !c->err; i++) {
		mp_decode(L, c, level + 1);
		lua_rawseti(L, -2, (int)i);
	}
}

static void mp_decode_map(lua_State *L, mp_cur_t *c, size_t n, int level)
{
	lua_newtable(L);
	for (size_t i = 0; i < n && !c->err; i++) {
		mp_decode(L, c, level + 1);
		mp_decode(L, c, level + 1);
		if (lua_isnil(L, -2))
			lua_pop(L, 2);
		else
			lua_rawset(L, -3);
	}
}

/* Pushes the next value (nil with c->err set on malformed input). */
static void mp_decode(lua_State *L, mp_cur_t *c, int level)
{
	if (level > 1000 || !lua_checkstack(L, 4)) {
		c->err = 2;
		lua_pushnil(L);
		return;
	}
	uint8_t t = (uint8_t)mp_get(c, 1);
	if (c->err) {
		lua_pushnil(L);
		return;
	}
	if (t <= 0x7f) {
		lua_pushnumber(L, t);
	} else if (t >= 0xe0) {
		lua_pushnumber(L, (int8_t)t);
	} else if ((t & 0xe0) == 0xa0) {
		mp_decode_str(L, c, t & 0x1f);
	} else if ((t & 0xf0) == 0x90) {
		mp_decode_array(L, c, t & 0x0f, level);
	} else if ((t & 0xf0) == 0x80) {
		mp_decode_map(L, c, t & 0x0f, level);
	} else {
		switch (t) {
		case 0xc0:
			lua_pushnil(L);
			break;
		case 0xc2:
		case 0xc3:
			lua_pushboolean(L, t == 0xc3);
			break;
		case 0xc4:
		case 0xd9:
			mp_decode_str(L, c, mp_get(c, 1));
			break;
		case 0xc5:
		case 0xda:
			mp_decode_str(L, c, mp_get(c, 2));
			break;
		case 0xc6:
		case 0xdb:
			mp_decode_str(L, c, mp_get(c, 4));
			break;
		case 0xca: {
			uint32_t u = (uint32_t)mp_get(c, 4);
			float f;
			memcpy(&f, &u, 4);
			lua_pushnumber(L, f);
			break;
		}
		case 0xcb: {
			uint64_t u = mp_get(c, 8);
			double d;
			memcpy(&d, &u, 8);
			lua_pushnumber(L, d);
			break;
		}
		case 0xcc:
			lua_pushnumber(L, (lua_Number)mp_get(c, 1));
			break;
		case 0xcd:
			lua_pushnumber(L, (lua_Number)mp_get(c, 2));
			break;
		case 0xce:
			lua_pushnumber(L, (lua_Number)mp_get(c, 4));
			break;
		case 0xcf:
			lua_pushnumber(L, (lua_Number)mp_get(c, 8));
			break;
		case 0xd0:
			lua_pushnumber(L, (int8_t)mp_get(c, 1));
			break;
		case 0xd1:
			lua_pushnumber(L, (int16_t)mp_get(c, 2));
			break;
		case 0xd2:
			lua_pushnumber(L, (int32_t)mp_get(c, 4));
			break;
		case 0xd3:
			lua_pushnumber(L, (lua_Number)(int64_t)mp_get(c, 8));
			break;
		case 0xdc:
			mp_decode_array(L, c, mp_get(c, 2), level);
			break;
		case 0xdd:
			mp_decode_array(L, c, mp_get(c, 4), level);
			break;
		case 0xde:
			mp_decode_map(L, c, mp_get(c, 2), level);
			break;
		case 0xdf:
			mp_decode_map(L, c, mp_get(c, 4), level);
			break;
		default:
			c->err = 2;
			lua_pushnil(L);
			break;
		}
	}
}

/* unpack(s) / unpack_one(s[, offset]) / unpack_limit(s, limit[, offset]):
 * the values, after the next offset for the _one/_limit forms (-1 at the
 * end), as Redis's cmsgpack. */
static int mp_unpack_n(lua_State *L, int limit, int offset, int with_offset)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	if (offset < 0 || (size_t)offset > n)
		return luaL_error(L, "Start offset %d greater than input length %d.", offset,
		                  (int)n);
	mp_cur_t c = {(const uint8_t *)s, n, (size_t)offset, 0};
	int top = lua_gettop(L), cnt = 0;
	if (with_offset)
		lua_pushnil(L); /* the offset's slot */
	while (c.pos < c.n && (limit <= 0 || cnt < limit)) {
		mp_decode(L, &c, 0);
		if (c.err)
			break;
		cnt++;
	}
	if (c.err == 1)
		return luaL_error(L, "Missing bytes in input.");
	if (c.err)
		return luaL_error(L, "Bad data format in input.");
	if (with_offset) {
		lua_pushinteger(L, c.pos >= c.n ? -1 : (lua_Integer)c.pos);
		lua_replace(L, top + 1);
		return cnt + 1;
	}
	return cnt;
}

static int mp_unpack(lua_State *L)
{
	return mp_unpack_n(L, 0, 0, 0);
}

static int mp_unpack_one(lua_State *L)
{
	return mp_unpack_n(L, 1, (int)luaL_optinteger(L, 2, 0), 1);
}

static int mp_unpack_limit(lua_State *L)
{
	return mp_unpack_n(L, (int)luaL_checkinteger(L, 2), (int)luaL_optinteger(L, 3, 0), 1);
}

int resp_lua_open_cmsgpack(lua_State *L)
{
	static const luaL_Reg fns[] = {{"pack", mp_pack},
	                               {"unpack", mp_unpack},
	                               {"unpack_one", mp_unpack_one},
	                               {"unpack_limit", mp_unpack_limit},
	                               {NULL, NULL}};
	luaL_register(L, "cmsgpack", fns);
	return 1;
}
