/*
 * commands_ext.c — the command table rows of the rest of Redis 7.0's
 * string, key and server commands (handlers in c_string_ext.c,
 * c_keys_ext.c, c_sort.c, c_server_ext.c). Arity, flags, legacy key
 * positions, ACL categories, versions and summaries are Redis 7.0.15's
 * (the JSON files of its src/commands). Loop thread only.
 */
#include "proto/resp/c_types.h"
#include "proto/resp/commands.h"

static const resp_cmd_t object_subs[] = {
    CMD("encoding", 3, R, resp_c_object_encoding, 2, 2, 1, "generic", "2.2.3", "keyspace read slow",
        "Inspect the internal encoding of a Redis object"),
    CMD("freq", 3, R, resp_c_object_freq, 2, 2, 1, "generic", "4.0.0", "keyspace read slow",
        "Get the logarithmic access frequency counter of a Redis object"),
    CMD("help", 2, L | S, resp_c_object_help, 0, 0, 0, "generic", "6.2.0", "keyspace slow",
        "Show helpful text about the different subcommands"),
    CMD("idletime", 3, R, resp_c_object_idletime, 2, 2, 1, "generic", "2.2.3", "keyspace read slow",
        "Get the time since a Redis object was last accessed"),
    CMD("refcount", 3, R, resp_c_object_refcount, 2, 2, 1, "generic", "2.2.3", "keyspace read slow",
        "Get the number of references to the value of the key"),
    END,
};

static const resp_cmd_t memory_subs[] = {
    CMD("help", 2, L | S, resp_c_memory_help, 0, 0, 0, "server", "4.0.0", "slow",
        "Show helpful text about the different subcommands"),
    CMD("usage", -3, R, resp_c_memory_usage, 2, 2, 1, "server", "4.0.0", "read slow",
        "Estimate the memory usage of a key"),
    END,
};

static const resp_cmd_t script_subs[] = {
    CMD("exists", -3, NS, resp_c_script_exists, 0, 0, 0, "scripting", "2.6.0", "slow scripting",
        "Check existence of scripts in the script cache."),
    CMD("flush", -2, NS, resp_c_script_flush, 0, 0, 0, "scripting", "2.6.0", "slow scripting",
        "Remove all the scripts from the script cache."),
    CMD("help", 2, L | S, resp_c_script_help, 0, 0, 0, "scripting", "5.0.0", "slow scripting",
        "Show helpful text about the different subcommands"),
    CMD("kill", 2, NS | AB, resp_c_script_kill, 0, 0, 0, "scripting", "2.6.0", "slow scripting",
        "Kill the script currently in execution."),
    CMD("load", 3, NS | S, resp_c_script_load, 0, 0, 0, "scripting", "2.6.0", "slow scripting",
        "Load the specified Lua script into the script cache."),
    END,
};

static const resp_cmd_t function_subs[] = {
    CMD("delete", 3, W | NS, resp_c_function_delete, 0, 0, 0, "scripting", "7.0.0",
        "write slow scripting", "Delete a function by name"),
    CMD("dump", 2, NS, resp_c_function_dump, 0, 0, 0, "scripting", "7.0.0", "slow scripting",
        "Dump all functions into a serialized binary payload"),
    CMD("flush", -2, W | NS, resp_c_function_flush, 0, 0, 0, "scripting", "7.0.0",
        "write slow scripting", "Deleting all functions"),
    CMD("help", 2, L | S, resp_c_function_help, 0, 0, 0, "scripting", "7.0.0", "slow scripting",
        "Show helpful text about the different subcommands"),
    CMD("kill", 2, NS | AB, resp_c_function_kill, 0, 0, 0, "scripting", "7.0.0", "slow scripting",
        "Kill the function currently in execution."),
    CMD("list", -2, NS, resp_c_function_list, 0, 0, 0, "scripting", "7.0.0", "slow scripting",
        "List information about all the functions"),
    CMD("load", -3, W | M | NS, resp_c_function_load, 0, 0, 0, "scripting", "7.0.0",
        "write slow scripting",
        "Create a function with the given arguments (name, code, description)"),
    CMD("restore", -3, W | M | NS, resp_c_function_restore, 0, 0, 0, "scripting", "7.0.0",
        "write slow scripting", "Restore all the functions on the given payload"),
    CMD("stats", 2, NS | AB, resp_c_function_stats, 0, 0, 0, "scripting", "7.0.0", "slow scripting",
        "Return information about the function currently running (name, description, duration)"),
    END,
};

const resp_cmd_t resp_cmds_ext[] = {
    /* functions (c_function.c) */
    CMD("fcall", -3, NS | S, resp_c_fcall, 0, 0, 0, "scripting", "7.0.0", "slow scripting",
        "Invoke a function"),
    CMD("fcall_ro", -3, R | NS | S, resp_c_fcall_ro, 0, 0, 0, "scripting", "7.0.0",
        "slow scripting", "Invoke a read-only function"),
    CONTAINER("function", -2, 0, NULL, "scripting", "7.0.0", "slow",
              "A container for function commands", function_subs),
    /* scripting (c_script.c) */
    CMD("eval", -3, NS | S, resp_c_eval, 0, 0, 0, "scripting", "2.6.0", "slow scripting",
        "Execute a Lua script server side"),
    CMD("evalsha", -3, NS | S, resp_c_evalsha, 0, 0, 0, "scripting", "2.6.0", "slow scripting",
        "Execute a Lua script server side"),
    CMD("eval_ro", -3, R | NS | S, resp_c_eval_ro, 0, 0, 0, "scripting", "7.0.0", "slow scripting",
        "Execute a read-only Lua script server side"),
    CMD("evalsha_ro", -3, R | NS | S, resp_c_evalsha_ro, 0, 0, 0, "scripting", "7.0.0",
        "slow scripting", "Execute a read-only Lua script server side"),
    CONTAINER("script", -2, 0, NULL, "scripting", "2.6.0", "slow",
              "A container for Lua scripts management commands", script_subs),
    CONTAINER("memory", -2, 0, NULL, "server", "4.0.0", "slow",
              "A container for memory diagnostics commands", memory_subs),
    CONTAINER("object", -2, 0, NULL, "generic", "2.2.3", "slow",
              "A container for object introspection commands", object_subs),
    /* keys (c_keys_ext.c, c_sort.c) */
    CMD("copy", -3, W | M, resp_c_copy, 1, 2, 1, "generic", "6.2.0", "keyspace write slow",
        "Copy a key"),
    CMD("renamenx", 3, W | F, resp_c_renamenx, 1, 2, 1, "generic", "1.0.0", "keyspace write fast",
        "Rename a key, only if the new key does not exist"),
    CMD("randomkey", 1, R, resp_c_randomkey, 0, 0, 0, "generic", "1.0.0", "keyspace read slow",
        "Return a random key from the keyspace"),
    CMD("touch", -2, R | F, resp_c_touch, 1, -1, 1, "generic", "3.2.1", "keyspace read fast",
        "Alters the last access time of a key(s). Returns the number of existing keys specified."),
    CMD("expiretime", 2, R | F, resp_c_expiretime, 1, 1, 1, "generic", "7.0.0",
        "keyspace read fast", "Get the expiration Unix timestamp for a key"),
    CMD("pexpiretime", 2, R | F, resp_c_pexpiretime, 1, 1, 1, "generic", "7.0.0",
        "keyspace read fast", "Get the expiration Unix timestamp for a key in milliseconds"),
    CMD("sort", -2, W | M, resp_c_sort, 1, 1, 1, "generic", "1.0.0",
        "write set sortedset list slow dangerous",
        "Sort the elements in a list, set or sorted set"),
    CMD("sort_ro", -2, R, resp_c_sort_ro, 1, 1, 1, "generic", "7.0.0",
        "read set sortedset list slow dangerous",
        "Sort the elements in a list, set or sorted set. Read-only variant of SORT."),
    /* strings (c_string_ext.c; GETSET: c_string.c) */
    CMD("incrbyfloat", 3, W | M | F, resp_c_incrbyfloat, 1, 1, 1, "string", "2.6.0",
        "write string fast", "Increment the float value of a key by the given amount"),
    CMD("getrange", 4, R, resp_c_getrange, 1, 1, 1, "string", "2.4.0", "read string slow",
        "Get a substring of the string stored at a key"),
    CMD("substr", 4, R, resp_c_getrange, 1, 1, 1, "string", "1.0.0", "read string slow",
        "Get a substring of the string stored at a key"),
    CMD("setrange", 4, W | M, resp_c_setrange, 1, 1, 1, "string", "2.2.0", "write string slow",
        "Overwrite part of a string at key starting at the specified offset"),
    CMD("msetnx", -3, W | M, resp_c_msetnx, 1, -1, 2, "string", "1.0.1", "write string slow",
        "Set multiple keys to multiple values, only if none of the keys exist"),
    CMD("getset", 3, W | M | F, resp_c_getset, 1, 1, 1, "string", "1.0.0", "write string fast",
        "Set the string value of a key and return its old value"),
    CMD("setbit", 4, W | M, resp_c_setbit, 1, 1, 1, "bitmap", "2.2.0", "write bitmap slow",
        "Sets or clears the bit at offset in the string value stored at key"),
    CMD("getbit", 3, R | F, resp_c_getbit, 1, 1, 1, "bitmap", "2.2.0", "read bitmap fast",
        "Returns the bit value at offset in the string value stored at key"),
    CMD("bitcount", -2, R, resp_c_bitcount, 1, 1, 1, "bitmap", "2.6.0", "read bitmap slow",
        "Count set bits in a string"),
    CMD("bitpos", -3, R, resp_c_bitpos, 1, 1, 1, "bitmap", "2.8.7", "read bitmap slow",
        "Find first bit set or clear in a string"),
    CMD("lcs", -3, R, resp_c_lcs, 1, 2, 1, "string", "7.0.0", "read string slow",
        "Find longest common substring"),
    END,
};
