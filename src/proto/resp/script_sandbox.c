/*
 * script_sandbox.c — the scripts' sandbox (see script_lua.c's header):
 * the globals proxy whose reads of a missing name fail and whose writes
 * raise "Attempt to modify a readonly table", read-only proxies of the
 * library tables, the base functions that see through (or refuse on)
 * them, and the refusal of precompiled chunks. Built once per Lua state.
 */
#include "proto/resp/script_lua.h"

#include <lua5.1/lauxlib.h>
#include <lua5.1/lua.h>

#include <string.h>

/* Globals a script may read even when nil (Redis's allow list: reading
 * them never raises). */
static int allowed_nil(const char *k)
{
	static const char *const names[] = {"loadstring", "gcinfo", "KEYS", "ARGV", NULL};
	for (int i = 0; names[i]; i++)
		if (strcmp(k, names[i]) == 0)
			return 1;
	return 0;
}

static int env_index(lua_State *L)
{
	/* (proxy, key): the real globals are upvalue 1 (every global a
	 * script reads comes here: no metatable or field lookup first). */
	lua_pushvalue(L, 2);
	lua_rawget(L, lua_upvalueindex(1));
	if (!lua_isnil(L, -1))
		return 1;
	const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
	if (k && allowed_nil(k))
		return 1;
	return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
	                  k ? k : "?");
}

int resp_lua_readonly_newindex(lua_State *L)
{
	return luaL_error(L, "Attempt to modify a readonly table");
}

/* The table a read-only proxy shows, or the argument itself. */
static void unproxy(lua_State *L, int idx)
{
	lua_getfield(L, LUA_REGISTRYINDEX, RESP_LUA_REG_RO);
	lua_pushvalue(L, idx);
	lua_rawget(L, -2);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 2);
		return;
	}
	lua_replace(L, idx);
	lua_pop(L, 1);
}

static int is_proxy(lua_State *L, int idx)
{
	lua_getfield(L, LUA_REGISTRYINDEX, RESP_LUA_REG_RO);
	lua_pushvalue(L, idx);
	lua_rawget(L, -2);
	int r = !lua_isnil(L, -1);
	lua_pop(L, 2);
	return r;
}

/* Raised from C as Redis's patched VM does: no "user_script:1:" prefix. */
static int readonly_error(lua_State *L)
{
	lua_pushstring(L, "Attempt to modify a readonly table");
	return lua_error(L);
}

/* rawset / setmetatable: refused on a read-only table, else the base
 * library's own (saved as upvalue 1). */
static int ro_guarded(lua_State *L)
{
	if (lua_gettop(L) >= 1 && is_proxy(L, 1))
		return readonly_error(L);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* rawget / next / pairs / ipairs: on the table a proxy shows. */
static int ro_through(lua_State *L)
{
	if (lua_gettop(L) >= 1)
		unproxy(L, 1);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* getmetatable: a library table has none (nil, as Redis's); _G's is its
 * protecting metatable (a table, as Redis's). */
static int ro_getmetatable(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, RESP_LUA_REG_ENV);
	int env = lua_gettop(L) >= 2 && lua_rawequal(L, 1, -1);
	lua_pop(L, 1);
	if (!env && lua_gettop(L) >= 1)
		unproxy(L, 1);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* loadstring: binary chunks are refused as Redis's patched Lua refuses
 * them (it parses every chunk as text, so precompiled code gives a syntax
 * error, nil and the message, and calling the result fails). The message
 * names the chunk as Lua 5.1's luaO_chunkid does for a string source. */
static int no_binary(lua_State *L)
{
	size_t n;
	const char *src = lua_tolstring(L, 1, &n);
	if (!src || n == 0 || src[0] != '\033' || !lua_isnoneornil(L, 2)) {
		lua_pushvalue(L, lua_upvalueindex(1));
		lua_insert(L, 1);
		lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
		return lua_gettop(L);
	}
	size_t len = strcspn(src, "\n\r"), cap = 60 - sizeof(" [string \"...\"] ");
	if (len > cap)
		len = cap;
	lua_pushnil(L);
	lua_pushlstring(L, src, len);
	lua_pushfstring(L, "[string \"%s%s\"]:1: unexpected symbol near 'char(27)'",
	                lua_tostring(L, -1), src[len] ? "..." : "");
	lua_remove(L, -2);
	return 2;
}

static void wrap_base(lua_State *L, const char *name, lua_CFunction f)
{
	lua_getglobal(L, name);
	lua_pushcclosure(L, f, 1);
	lua_setglobal(L, name);
}

/* Pushes what getmetatable shows of a protected table: an empty table
 * that cannot be changed either (Redis's metatables are read-only, so
 * `getmetatable(_G).__index = {}` fails there too); RESP_LUA_REG_RO knows it, so
 * rawset refuses it as well. */
static void push_frozen(lua_State *L)
{
	lua_newtable(L);
	lua_newtable(L);
	lua_pushcfunction(L, resp_lua_readonly_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_getfield(L, LUA_REGISTRYINDEX, RESP_LUA_REG_RO);
	lua_pushvalue(L, -2);
	lua_pushvalue(L, -1);
	lua_rawset(L, -3);
	lua_pop(L, 1);
}

/* Pushes a read-only proxy of the table at index real (an absolute or
 * pseudo index): reads go to index (the table itself when NULL), writes
 * fail (index gets the table as upvalue 1); its metatable keeps the
 * table as __globals and hides itself behind an empty __metatable; RESP_LUA_REG_RO
 * maps it to the table. */
static void push_proxy(lua_State *L, int real, lua_CFunction index)
{
	lua_newtable(L);
	lua_newtable(L);
	if (index) {
		lua_pushvalue(L, real);
		lua_pushcclosure(L, index, 1);
	} else
		lua_pushvalue(L, real);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, resp_lua_readonly_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushvalue(L, real);
	lua_setfield(L, -2, "__globals");
	push_frozen(L);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_getfield(L, LUA_REGISTRYINDEX, RESP_LUA_REG_RO);
	lua_pushvalue(L, -2);
	lua_pushvalue(L, real);
	lua_rawset(L, -3);
	lua_pop(L, 1);
}

/* Replaces the global library name by a read-only proxy of it. */
static void protect_lib(lua_State *L, const char *name)
{
	lua_getglobal(L, name);
	push_proxy(L, lua_gettop(L), NULL);
	if (strcmp(name, "string") == 0) {
		/* ("x"):upper() goes through the proxy too, as in Redis
		 * (getmetatable("").__index == string). */
		lua_pushliteral(L, "");
		lua_getmetatable(L, -1);
		lua_pushvalue(L, -3);
		lua_setfield(L, -2, "__index");
		lua_pop(L, 2);
	}
	lua_setglobal(L, name);
	lua_pop(L, 1);
}

void resp_lua_sandbox_build(lua_State *L)
{
	static const char *const libs[] = {"redis", "string", "math",     "table", "cjson",
	                                   "bit",   "struct", "cmsgpack", NULL};
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, RESP_LUA_REG_RO);
	for (int i = 0; libs[i]; i++)
		protect_lib(L, libs[i]);
	wrap_base(L, "rawset", ro_guarded);
	wrap_base(L, "setmetatable", ro_guarded);
	wrap_base(L, "rawget", ro_through);
	wrap_base(L, "next", ro_through);
	wrap_base(L, "pairs", ro_through);
	wrap_base(L, "ipairs", ro_through);
	wrap_base(L, "getmetatable", ro_getmetatable);
	wrap_base(L, "loadstring", no_binary);
	static const char *const removed[] = {"print",  "dofile",   "loadfile", "require",
	                                      "module", "package",  "os",       "io",
	                                      "debug",  "newproxy", NULL};
	for (int i = 0; removed[i]; i++) {
		lua_pushnil(L);
		lua_setglobal(L, removed[i]);
	}
	/* The scripts' environment: a proxy of the globals whose reads of a
	 * missing name fail. */
	push_proxy(L, LUA_GLOBALSINDEX, env_index);
	/* _G seen from a script is the proxy. */
	lua_pushvalue(L, -1);
	lua_setglobal(L, "_G");
	lua_setfield(L, LUA_REGISTRYINDEX, RESP_LUA_REG_ENV);
}
