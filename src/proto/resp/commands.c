/*
 * commands.c — the RESP command table, dispatch, the shared argument
 * helpers and error replies.
 *
 * The table is split by family for size (this file: connection, server,
 * keys, streams, lists, strings, pub/sub, transactions; commands_types.c:
 * hashes, sets, sorted sets; commands_ext.c: the rest of the 7.0 string,
 * key and server commands), indexed together at start. Each row is a command (name, arity, flags, handler, key positions, docs);
 * a container (CLIENT, CONFIG, XGROUP, XINFO, COMMAND) has a table of
 * subcommands instead of a handler. Dispatch, arity errors, NOAUTH and the
 * COMMAND / COMMAND COUNT / DOCS / INFO / LIST replies all come from these
 * rows, so adding a command is one line in a table plus its handler in a
 * c_*.c file (COMMAND itself: c_command.c). Error texts and check order follow Redis 7.0's processCommand,
 * MISCONF for writes while the keyspace recovers from a storage failure
 * included. Loop thread only.
 */
#include "broker/stats.h"
#include "proto/resp/c_admin.h"
#include "proto/resp/c_lists.h"
#include "proto/resp/commands.h"
#include "proto/resp/commands_docs.h"
#include "proto/resp/resp.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static const resp_cmd_t acl_subs[] = {
    CMD("cat", -2, NS | L | S, resp_c_acl_cat, 0, 0, 0, "server", "6.0.0", "slow",
        "Lists the ACL categories, or the commands inside a category."),
    CMD("deluser", -3, NS | L | S, resp_c_acl_deluser, 0, 0, 0, "server", "6.0.0",
        "admin slow dangerous", "Deletes ACL users, and terminates their connections."),
    CMD("dryrun", -4, NS | L | S, resp_c_acl_dryrun, 0, 0, 0, "server", "7.0.0",
        "admin slow dangerous",
        "Simulates the execution of a command by a user, without executing the command."),
    CMD("genpass", -2, NS | L | S, resp_c_acl_genpass, 0, 0, 0, "server", "6.0.0", "slow",
        "Generates a pseudorandom, secure password that can be used to identify ACL users."),
    CMD("getuser", 3, NS | L | S, resp_c_acl_getuser, 0, 0, 0, "server", "6.0.0",
        "admin slow dangerous", "Lists the ACL rules of a user."),
    CMD("list", 2, NS | L | S, resp_c_acl_list, 0, 0, 0, "server", "6.0.0", "admin slow dangerous",
        "Dumps the effective rules in ACL file format."),
    CMD("load", 2, NS | L | S, resp_c_acl_load, 0, 0, 0, "server", "6.0.0", "admin slow dangerous",
        "Reloads the rules from the configured ACL file."),
    CMD("log", -2, NS | L | S, resp_c_acl_log, 0, 0, 0, "server", "6.0.0", "admin slow dangerous",
        "Lists recent security events generated due to commands rejected by ACL rules."),
    CMD("save", 2, NS | L | S, resp_c_acl_load, 0, 0, 0, "server", "6.0.0", "admin slow dangerous",
        "Saves the effective ACL rules in the configured ACL file."),
    CMD("setuser", -3, NS | L | S, resp_c_acl_setuser, 0, 0, 0, "server", "6.0.0",
        "admin slow dangerous", "Creates and modifies an ACL user and its rules."),
    CMD("users", 2, NS | L | S, resp_c_acl_users, 0, 0, 0, "server", "6.0.0",
        "admin slow dangerous", "Lists all ACL users."),
    CMD("whoami", 2, NS | L | S, resp_c_acl_whoami, 0, 0, 0, "server", "6.0.0", "slow",
        "Returns the authenticated username of the current connection."),
    END,
};

static const resp_cmd_t client_subs[] = {
    CMD("getredir", 2, NS | L | S, resp_c_client_getredir, 0, 0, 0, "connection", "6.0.0",
        "slow connection", "Get tracking notifications redirection client ID if any"),
    CMD("help", 2, L | S, resp_c_client_help, 0, 0, 0, "connection", "5.0.0", "slow connection",
        "Show helpful text about the different subcommands"),
    CMD("kill", -3, NS | L | S, resp_c_client_kill, 0, 0, 0, "connection", "2.4.0",
        "admin slow dangerous connection", "Kill the connection of a client"),
    CMD("no-evict", 3, NS | L | S, resp_c_client_no_evict, 0, 0, 0, "connection", "7.0.0",
        "admin slow dangerous connection", "Set client eviction mode for the current connection"),
    CMD("pause", -3, NS | L | S, resp_c_client_pause, 0, 0, 0, "connection", "3.0.0",
        "admin slow dangerous connection", "Stop processing commands from clients for some time"),
    CMD("reply", 3, NS | L | S, resp_c_client_reply, 0, 0, 0, "connection", "3.2.0",
        "slow connection", "Instruct the server whether to reply to commands"),
    CMD("tracking", -3, NS | L | S, resp_c_client_tracking, 0, 0, 0, "connection", "6.0.0",
        "slow connection", "Enable or disable server assisted client side caching support"),
    CMD("trackinginfo", 2, NS | L | S, resp_c_client_trackinginfo, 0, 0, 0, "connection", "6.2.0",
        "slow connection",
        "Return information about server assisted client side caching for the current connection"),
    CMD("unblock", -3, NS | L | S, resp_c_client_unblock, 0, 0, 0, "connection", "5.0.0",
        "admin slow dangerous connection",
        "Unblock a client blocked in a blocking command from a different connection"),
    CMD("unpause", 2, NS | L | S, resp_c_client_unpause, 0, 0, 0, "connection", "6.2.0",
        "admin slow dangerous connection", "Resume processing of clients that were paused"),
    CMD("getname", 2, NS | L | S, resp_c_client_getname, 0, 0, 0, "connection", "2.6.9",
        "slow connection", "Returns the name of the connection."),
    CMD("id", 2, NS | L | S, resp_c_client_id, 0, 0, 0, "connection", "5.0.0", "slow connection",
        "Returns the unique client ID of the connection."),
    CMD("info", 2, NS | L | S, resp_c_client_info, 0, 0, 0, "connection", "6.2.0",
        "slow connection", "Returns information about the connection."),
    CMD("list", -2, NS | L | S, resp_c_client_list, 0, 0, 0, "connection", "2.4.0",
        "admin slow dangerous connection", "Lists open connections."),
    CMD("setinfo", 4, NS | L | S, resp_c_client_setinfo, 0, 0, 0, "connection", "7.2.0",
        "slow connection", "Sets information specific to the client or connection."),
    CMD("setname", 3, NS | L | S, resp_c_client_setname, 0, 0, 0, "connection", "2.6.9",
        "slow connection", "Sets the connection name."),
    END,
};

static const resp_cmd_t config_subs[] = {
    CMD("get", -3, NS | L | S, resp_c_config_get, 0, 0, 0, "server", "2.0.0",
        "admin slow dangerous", "Returns the effective values of configuration parameters."),
    CMD("resetstat", 2, NS | L | S, resp_c_config_resetstat, 0, 0, 0, "server", "2.0.0",
        "admin slow dangerous", "Resets the server's statistics."),
    CMD("set", -4, NS | L | S, resp_c_config_set, 0, 0, 0, "server", "2.0.0",
        "admin slow dangerous", "Sets configuration parameters in-flight."),
    END,
};

static const resp_cmd_t command_subs[] = {
    CMD("count", 2, L | S, resp_c_command_count, 0, 0, 0, "server", "2.8.13", "slow connection",
        "Returns a count of commands."),
    CMD("docs", -2, L | S, resp_c_command_docs, 0, 0, 0, "server", "7.0.0", "slow connection",
        "Returns documentary information about one, multiple or all commands."),
    CMD("getkeys", -4, L | S, resp_c_command_getkeys, 0, 0, 0, "server", "2.8.13",
        "slow connection", "Extract keys given a full Redis command"),
    CMD("getkeysandflags", -4, L | S, resp_c_command_getkeysandflags, 0, 0, 0, "server", "7.0.0",
        "slow connection", "Extract keys and access flags given a full Redis command"),
    CMD("info", -2, L | S, resp_c_command_info, 0, 0, 0, "server", "2.8.13", "slow connection",
        "Returns information about one, multiple or all commands."),
    CMD("list", -2, L | S, resp_c_command_list, 0, 0, 0, "server", "7.0.0", "slow connection",
        "Returns a list of command names."),
    END,
};

static const resp_cmd_t slowlog_subs[] = {
    CMD("get", -2, L | S, resp_c_slowlog_get, 0, 0, 0, "server", "2.2.12", "admin slow dangerous",
        "Get the slow log's entries"),
    CMD("help", 2, L | S, resp_c_slowlog_help, 0, 0, 0, "server", "6.2.0", "slow",
        "Show helpful text about the different subcommands"),
    CMD("len", 2, L | S, resp_c_slowlog_len, 0, 0, 0, "server", "2.2.12", "admin slow dangerous",
        "Get the slow log's length"),
    CMD("reset", 2, L | S, resp_c_slowlog_reset, 0, 0, 0, "server", "2.2.12",
        "admin slow dangerous", "Clear all entries from the slow log"),
    END,
};

static const resp_cmd_t xgroup_subs[] = {
    CMD("create", -5, W | M, resp_c_xgroup_create, 2, 2, 1, "stream", "5.0.0", "write stream slow",
        "Creates a consumer group."),
    CMD("createconsumer", 5, W | M, resp_c_xgroup_createconsumer, 2, 2, 1, "stream", "6.2.0",
        "write stream slow", "Creates a consumer in a consumer group."),
    CMD("delconsumer", 5, W, resp_c_xgroup_delconsumer, 2, 2, 1, "stream", "5.0.0",
        "write stream slow", "Deletes a consumer from a consumer group."),
    CMD("help", 2, L | S, resp_c_xgroup_help, 0, 0, 0, "stream", "5.0.0", "stream slow",
        "Returns helpful text about the different subcommands."),
    CMD("destroy", 4, W, resp_c_xgroup_destroy, 2, 2, 1, "stream", "5.0.0", "write stream slow",
        "Destroys a consumer group."),
    CMD("setid", -5, W, resp_c_xgroup_setid, 2, 2, 1, "stream", "5.0.0", "write stream slow",
        "Sets the last-delivered ID of a consumer group."),
    END,
};

static const resp_cmd_t xinfo_subs[] = {
    CMD("consumers", 4, R, resp_c_xinfo_consumers, 2, 2, 1, "stream", "5.0.0", "read stream slow",
        "Returns a list of the consumers in a consumer group."),
    CMD("groups", 3, R, resp_c_xinfo_groups, 2, 2, 1, "stream", "5.0.0", "read stream slow",
        "Returns a list of the consumer groups of a stream."),
    CMD("help", 2, L | S, resp_c_xinfo_help, 0, 0, 0, "stream", "5.0.0", "stream slow",
        "Returns helpful text about the different subcommands."),
    CMD("stream", -3, R, resp_c_xinfo_stream, 2, 2, 1, "stream", "5.0.0", "read stream slow",
        "Returns information about a stream."),
    END,
};

static const resp_cmd_t pubsub_subs[] = {
    CMD("channels", -2, P | L | S, resp_c_pubsub_channels, 0, 0, 0, "pubsub", "2.8.0",
        "pubsub slow", "Returns the active channels."),
    CMD("help", 2, L | S, resp_c_pubsub_help, 0, 0, 0, "pubsub", "6.2.0", "slow",
        "Returns helpful text about the different subcommands."),
    CMD("numpat", 2, P | L | S, resp_c_pubsub_numpat, 0, 0, 0, "pubsub", "2.8.0", "pubsub slow",
        "Returns a count of unique pattern subscriptions."),
    CMD("numsub", -2, P | L | S, resp_c_pubsub_numsub, 0, 0, 0, "pubsub", "2.8.0", "pubsub slow",
        "Returns a count of subscribers to channels."),
    END,
};

static const resp_cmd_t table[] = {
    /* lists, strings, expiry, pub/sub, transactions (c_list.c,
	 * c_list_block.c, c_string.c, c_expire.c, c_pubsub.c, c_multi.c): one
	 * block, sorted within, ahead of the rest. A name listed twice resolves
	 * to its first entry (resp_cmds_index keeps the first). */
    CMD("append", 3, W | M | F, resp_c_append, 1, 1, 1, "string", "2.0.0", "write string fast",
        "Appends a string to the value of a key. Creates the key if it doesn't exist."),
    CMD("blmove", 6, W | M | NS | B, resp_c_blmove, 1, 2, 1, "list", "6.2.0",
        "write list slow blocking",
        "Pops an element from a list, pushes it to another list and returns it. Blocks until an "
        "element is available otherwise. Deletes the list if the last element was moved."),
    CMD("blmpop", -5, W | B, resp_c_blmpop, 0, 0, 0, "list", "7.0.0", "write list slow blocking",
        "Pops the first element from one of multiple lists. Blocks until an element is available "
        "otherwise. Deletes the list if the last element was popped."),
    CMD("blpop", -3, W | NS | B, resp_c_blpop, 1, -2, 1, "list", "2.0.0",
        "write list slow blocking",
        "Removes and returns the first element in a list. Blocks until an element is available "
        "otherwise. Deletes the list if the last element was popped."),
    CMD("brpop", -3, W | NS | B, resp_c_brpop, 1, -2, 1, "list", "2.0.0",
        "write list slow blocking",
        "Removes and returns the last element in a list. Blocks until an element is available "
        "otherwise. Deletes the list if the last element was popped."),
    CMD("brpoplpush", 4, W | M | NS | B, resp_c_brpoplpush, 1, 2, 1, "list", "2.2.0",
        "write list slow blocking",
        "Pops an element from a list, pushes it to another list and returns it. Block until an "
        "element is available otherwise. Deletes the list if the last element was popped."),
    CMD("decr", 2, W | M | F, resp_c_decr, 1, 1, 1, "string", "1.0.0", "write string fast",
        "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't "
        "exist."),
    CMD("decrby", 3, W | M | F, resp_c_decrby, 1, 1, 1, "string", "1.0.0", "write string fast",
        "Decrements a number from the integer value of a key. Uses 0 as initial value if the key "
        "doesn't exist."),
    CMD("discard", 1, NS | L | S | F | AB, resp_c_discard, 0, 0, 0, "transactions", "2.0.0",
        "fast transaction", "Discards a transaction."),
    CMD("exec", 1, NS | L | S, resp_c_exec, 0, 0, 0, "transactions", "1.2.0", "slow transaction",
        "Executes all commands in a transaction."),
    CMD("expire", -3, W | F, resp_c_expire, 1, 1, 1, "generic", "1.0.0", "keyspace write fast",
        "Sets the expiration time of a key in seconds."),
    CMD("expireat", -3, W | F, resp_c_expireat, 1, 1, 1, "generic", "1.2.0", "keyspace write fast",
        "Sets the expiration time of a key to a Unix timestamp."),
    CMD("get", 2, R | F, resp_c_get, 1, 1, 1, "string", "1.0.0", "read string fast",
        "Returns the string value of a key."),
    CMD("getdel", 2, W | F, resp_c_getdel, 1, 1, 1, "string", "6.2.0", "write string fast",
        "Returns the string value of a key after deleting the key."),
    CMD("getex", -2, W | F, resp_c_getex, 1, 1, 1, "string", "6.2.0", "write string fast",
        "Returns the string value of a key after setting its expiration time."),
    CMD("incr", 2, W | M | F, resp_c_incr, 1, 1, 1, "string", "1.0.0", "write string fast",
        "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't "
        "exist."),
    CMD("incrby", 3, W | M | F, resp_c_incrby, 1, 1, 1, "string", "1.0.0", "write string fast",
        "Increments the integer value of a key by a number. Uses 0 as initial value if the key "
        "doesn't exist."),
    CMD("lindex", 3, R, resp_c_lindex, 1, 1, 1, "list", "1.0.0", "read list slow",
        "Returns an element from a list by its index."),
    CMD("linsert", 5, W | M, resp_c_linsert, 1, 1, 1, "list", "2.2.0", "write list slow",
        "Inserts an element before or after another element in a list."),
    CMD("llen", 2, R | F, resp_c_llen, 1, 1, 1, "list", "1.0.0", "read list fast",
        "Returns the length of a list."),
    CMD("lmove", 5, W | M, resp_c_lmove, 1, 2, 1, "list", "6.2.0", "write list slow",
        "Returns an element after popping it from one list and pushing it to another. Deletes the "
        "list if the last element was moved."),
    CMD("lmpop", -4, W, resp_c_lmpop, 0, 0, 0, "list", "7.0.0", "write list slow",
        "Returns multiple elements from a list after removing them. Deletes the list if the last "
        "element was popped."),
    CMD("lpop", -2, W | F, resp_c_lpop, 1, 1, 1, "list", "1.0.0", "write list fast",
        "Returns the first elements in a list after removing it. Deletes the list if the last "
        "element was popped."),
    CMD("lpos", -3, R, resp_c_lpos, 1, 1, 1, "list", "6.0.6", "read list slow",
        "Returns the index of matching elements in a list."),
    CMD("lpush", -3, W | M | F, resp_c_lpush, 1, 1, 1, "list", "1.0.0", "write list fast",
        "Prepends one or more elements to a list. Creates the key if it doesn't exist."),
    CMD("lpushx", -3, W | M | F, resp_c_lpushx, 1, 1, 1, "list", "2.2.0", "write list fast",
        "Prepends one or more elements to a list only when the list exists."),
    CMD("lrange", 4, R, resp_c_lrange, 1, 1, 1, "list", "1.0.0", "read list slow",
        "Returns a range of elements from a list."),
    CMD("lrem", 4, W, resp_c_lrem, 1, 1, 1, "list", "1.0.0", "write list slow",
        "Removes elements from a list. Deletes the list if the last element was removed."),
    CMD("lset", 4, W | M, resp_c_lset, 1, 1, 1, "list", "1.0.0", "write list slow",
        "Sets the value of an element in a list by its index."),
    CMD("ltrim", 4, W, resp_c_ltrim, 1, 1, 1, "list", "1.0.0", "write list slow",
        "Removes elements from both ends a list. Deletes the list if all elements were trimmed."),
    CMD("mget", -2, R | F, resp_c_mget, 1, -1, 1, "string", "1.0.0", "read string fast",
        "Atomically returns the string values of one or more keys."),
    CMD("mset", -3, W | M, resp_c_mset, 1, -1, 2, "string", "1.0.1", "write string slow",
        "Atomically creates or modifies the string values of one or more keys."),
    CMD("multi", 1, NS | L | S | F | AB, resp_c_multi, 0, 0, 0, "transactions", "1.2.0",
        "fast transaction", "Starts a transaction."),
    CMD("persist", 2, W | F, resp_c_persist, 1, 1, 1, "generic", "2.2.0", "keyspace write fast",
        "Removes the expiration time of a key."),
    CMD("pexpire", -3, W | F, resp_c_pexpire, 1, 1, 1, "generic", "2.6.0", "keyspace write fast",
        "Sets the expiration time of a key in milliseconds."),
    CMD("pexpireat", -3, W | F, resp_c_pexpireat, 1, 1, 1, "generic", "2.6.0",
        "keyspace write fast",
        "Sets the expiration time of a key to a Unix milliseconds timestamp."),
    CMD("psetex", 4, W | M, resp_c_psetex, 1, 1, 1, "string", "2.6.0", "write string slow",
        "Sets both string value and expiration time in milliseconds of a key. The key is created "
        "if it doesn't exist."),
    CMD("psubscribe", -2, P | NS | L | S, resp_c_psubscribe, 0, 0, 0, "pubsub", "2.0.0",
        "pubsub slow",
        "Listens for messages published to channels that match one or more patterns."),
    CMD("pttl", 2, R | F, resp_c_pttl, 1, 1, 1, "generic", "2.6.0", "keyspace read fast",
        "Returns the expiration time in milliseconds of a key."),
    CMD("publish", 3, P | L | S | F, resp_c_publish, 0, 0, 0, "pubsub", "2.0.0", "pubsub fast",
        "Posts a message to a channel."),
    CONTAINER("pubsub", -2, 0, NULL, "pubsub", "2.8.0", "slow", "A container for Pub/Sub commands.",
              pubsub_subs),
    CMD("punsubscribe", -1, P | NS | L | S, resp_c_punsubscribe, 0, 0, 0, "pubsub", "2.0.0",
        "pubsub slow",
        "Stops listening to messages published to channels that match one or more patterns."),
    CMD("rename", 3, W, resp_c_rename, 1, 2, 1, "generic", "1.0.0", "keyspace write slow",
        "Renames a key and overwrites the destination."),
    CMD("rpop", -2, W | F, resp_c_rpop, 1, 1, 1, "list", "1.0.0", "write list fast",
        "Returns and removes the last elements of a list. Deletes the list if the last element was "
        "popped."),
    CMD("rpoplpush", 3, W | M, resp_c_rpoplpush, 1, 2, 1, "list", "1.2.0", "write list slow",
        "Returns the last element of a list after removing and pushing it to another list. Deletes "
        "the list if the last element was popped."),
    CMD("rpush", -3, W | M | F, resp_c_rpush, 1, 1, 1, "list", "1.0.0", "write list fast",
        "Appends one or more elements to a list. Creates the key if it doesn't exist."),
    CMD("rpushx", -3, W | M | F, resp_c_rpushx, 1, 1, 1, "list", "2.2.0", "write list fast",
        "Appends an element to a list only when the list exists."),
    CMD("set", -3, W | M, resp_c_set, 1, 1, 1, "string", "1.0.0", "write string slow",
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't "
        "exist."),
    CMD("setex", 4, W | M, resp_c_setex, 1, 1, 1, "string", "2.0.0", "write string slow",
        "Sets the string value and expiration time of a key. Creates the key if it doesn't exist."),
    CMD("setnx", 3, W | M | F, resp_c_setnx, 1, 1, 1, "string", "1.0.0", "write string fast",
        "Set the string value of a key only when the key doesn't exist."),
    CMD("strlen", 2, R | F, resp_c_strlen, 1, 1, 1, "string", "2.2.0", "read string fast",
        "Returns the length of a string value."),
    CMD("subscribe", -2, P | NS | L | S, resp_c_subscribe, 0, 0, 0, "pubsub", "2.0.0",
        "pubsub slow", "Listens for messages published to channels."),
    CMD("ttl", 2, R | F, resp_c_ttl, 1, 1, 1, "generic", "1.0.0", "keyspace read fast",
        "Returns the expiration time in seconds of a key."),
    CMD("unlink", -2, W | F, resp_c_unlink, 1, -1, 1, "generic", "4.0.0", "keyspace write fast",
        "Asynchronously deletes one or more keys."),
    CMD("unsubscribe", -1, P | NS | L | S, resp_c_unsubscribe, 0, 0, 0, "pubsub", "2.0.0",
        "pubsub slow", "Stops listening to messages posted to channels."),
    CMD("unwatch", 1, NS | L | S | F | AB, resp_c_unwatch, 0, 0, 0, "transactions", "2.2.0",
        "fast transaction", "Forgets about watched keys of a transaction."),
    CMD("watch", -2, NS | L | S | F | AB, resp_c_watch, 1, -1, 1, "transactions", "2.2.0",
        "fast transaction",
        "Monitors changes to keys to determine the execution of a transaction."),
    /* end of the lists/strings/pub-sub/transactions block */
    CMD("auth", -2, NS | L | S | NA | F | AB, resp_c_auth, 0, 0, 0, "connection", "1.0.0",
        "fast connection", "Authenticates the connection."),
    CONTAINER("acl", -2, 0, NULL, "server", "6.0.0", "slow",
              "A container for Access List Control commands.", acl_subs),
    CONTAINER("client", -2, 0, NULL, "connection", "2.4.0", "slow",
              "A container for client connection commands.", client_subs),
    CONTAINER("command", -1, L | S, resp_c_command, "server", "2.8.13", "slow connection",
              "Returns detailed information about all commands.", command_subs),
    CONTAINER("config", -2, 0, NULL, "server", "2.0.0", "slow",
              "A container for server configuration commands.", config_subs),
    CMD("dbsize", 1, R | F, resp_c_dbsize, 0, 0, 0, "server", "1.0.0", "keyspace read fast",
        "Returns the number of keys in the database."),
    CMD("del", -2, W, resp_c_del, 1, -1, 1, "generic", "1.0.0", "keyspace write slow",
        "Deletes one or more keys."),
    CMD("echo", 2, F, resp_c_echo, 0, 0, 0, "connection", "1.0.0", "fast connection",
        "Returns the given string."),
    CMD("exists", -2, R | F, resp_c_exists, 1, -1, 1, "generic", "1.0.0", "keyspace read fast",
        "Determines whether one or more keys exist."),
    CMD("flushall", -1, W, resp_c_flushdb, 0, 0, 0, "server", "1.0.0",
        "keyspace write slow dangerous", "Removes all keys from all databases."),
    CMD("flushdb", -1, W, resp_c_flushdb, 0, 0, 0, "server", "1.0.0",
        "keyspace write slow dangerous", "Remove all keys from the current database."),
    CMD("hello", -1, NS | L | S | NA | F | AB, resp_c_hello, 0, 0, 0, "connection", "6.0.0",
        "fast connection", "Handshakes with the Redis server."),
    CMD("info", -1, L | S, resp_c_info, 0, 0, 0, "server", "1.0.0", "slow dangerous",
        "Returns information and statistics about the server."),
    CMD("keys", 2, R, resp_c_keys, 0, 0, 0, "generic", "1.0.0", "keyspace read slow dangerous",
        "Returns all key names that match a pattern."),
    CMD("monitor", 1, NS | L | S, resp_c_monitor, 0, 0, 0, "server", "1.0.0",
        "admin slow dangerous", "Listen for all requests received by the server in real time"),
    CMD("ping", -1, F, resp_c_ping, 0, 0, 0, "connection", "1.0.0", "fast connection",
        "Returns the server's liveliness response."),
    CMD("quit", -1, NS | L | S | NA | F | AB, resp_c_quit, 0, 0, 0, "connection", "1.0.0",
        "fast connection", "Closes the connection."),
    CMD("reset", 1, NS | L | S | NA | F | AB, resp_c_reset, 0, 0, 0, "connection", "6.2.0",
        "fast connection", "Resets the connection."),
    CMD("scan", -2, R, resp_c_scan, 0, 0, 0, "generic", "2.8.0", "keyspace read slow",
        "Iterates over the key names in the database."),
    CONTAINER("slowlog", -2, 0, NULL, "server", "2.2.12", "slow",
              "A container for slow log commands.", slowlog_subs),
    CMD("select", 2, L | S | F, resp_c_select, 0, 0, 0, "connection", "1.0.0", "fast connection",
        "Changes the selected database."),
    CMD("shutdown", -1, NS | L | S | NM | AB, resp_c_shutdown, 0, 0, 0, "server", "1.0.0",
        "admin slow dangerous",
        "Synchronously save the dataset to disk and then shut down the server"),
    CMD("time", 1, L | S | F, resp_c_time, 0, 0, 0, "server", "2.6.0", "fast",
        "Returns the server time."),
    CMD("type", 2, R | F, resp_c_type, 1, 1, 1, "generic", "1.0.0", "keyspace read fast",
        "Determines the type of value stored at a key."),
    CMD("xack", -4, W | F, resp_c_xack, 1, 1, 1, "stream", "5.0.0", "write stream fast",
        "Returns the number of messages that were successfully acknowledged by the consumer group "
        "member of a stream."),
    CMD("xadd", -5, W | M | F, resp_c_xadd, 1, 1, 1, "stream", "5.0.0", "write stream fast",
        "Appends a new message to a stream. Creates the key if it doesn't exist."),
    CMD("xautoclaim", -6, W | F, resp_c_xautoclaim, 1, 1, 1, "stream", "6.2.0", "write stream fast",
        "Changes, or acquires, ownership of messages in a consumer group, as if the messages were "
        "delivered to as consumer group member."),
    CMD("xclaim", -6, W | F, resp_c_xclaim, 1, 1, 1, "stream", "5.0.0", "write stream fast",
        "Changes, or acquires, ownership of a message in a consumer group, as if the message was "
        "delivered a consumer group member."),
    CMD("xdel", -3, W | F, resp_c_xdel, 1, 1, 1, "stream", "5.0.0", "write stream fast",
        "Returns the number of messages after removing them from a stream."),
    CONTAINER("xgroup", -2, 0, NULL, "stream", "5.0.0", "slow",
              "A container for consumer groups commands.", xgroup_subs),
    CONTAINER("xinfo", -2, 0, NULL, "stream", "5.0.0", "slow",
              "A container for stream introspection commands.", xinfo_subs),
    CMD("xlen", 2, R | F, resp_c_xlen, 1, 1, 1, "stream", "5.0.0", "read stream fast",
        "Return the number of messages in a stream."),
    CMD("xpending", -3, R, resp_c_xpending, 1, 1, 1, "stream", "5.0.0", "read stream slow",
        "Returns the information and entries from a stream consumer group's pending entries list."),
    CMD("xrange", -4, R, resp_c_xrange, 1, 1, 1, "stream", "5.0.0", "read stream slow",
        "Returns the messages from a stream within a range of IDs."),
    CMD("xread", -4, R | B, resp_c_xread, 0, 0, 0, "stream", "5.0.0", "read stream slow blocking",
        "Returns messages from multiple streams with IDs greater than the ones requested. Blocks "
        "until a message is available otherwise."),
    CMD("xreadgroup", -7, W | B, resp_c_xreadgroup, 0, 0, 0, "stream", "5.0.0",
        "write stream slow blocking",
        "Returns new or historical messages from a stream for a consumer in a group. Blocks until "
        "a message is available otherwise."),
    CMD("xrevrange", -4, R, resp_c_xrevrange, 1, 1, 1, "stream", "5.0.0", "read stream slow",
        "Returns the messages from a stream within a range of IDs in reverse order."),
    CMD("xsetid", -3, W | M | F, resp_c_xsetid, 1, 1, 1, "stream", "5.0.0", "write stream fast",
        "An internal command for replicating stream values."),
    CMD("xtrim", -4, W, resp_c_xtrim, 1, 1, 1, "stream", "5.0.0", "write stream slow",
        "Deletes messages from the beginning of a stream."),
    END,
};

/* Every table of top-level commands: this file's, then the families that
 * keep their rows beside them (commands_types.c, commands_ext.c). */
static const resp_cmd_t *const tables[] = {table, resp_cmds_types, resp_cmds_ext};

#define NTABLES (sizeof tables / sizeof tables[0])

const resp_cmd_t *resp_cmd_at(size_t i)
{
	for (size_t t = 0; t < NTABLES; t++) {
		const resp_cmd_t *c = tables[t];
		for (; c->name && i; c++, i--)
			;
		if (c->name)
			return c;
	}
	return NULL;
}

size_t resp_cmd_count(void)
{
	size_t n = 0;
	for (size_t t = 0; t < NTABLES; t++)
		for (const resp_cmd_t *c = tables[t]; c->name; c++)
			n++;
	return n;
}

void resp_cmds_index(resp_srv_t *srv)
{
	map_init(&srv->cmds);
	for (size_t t = 0; t < NTABLES; t++)
		for (const resp_cmd_t *c = tables[t]; c->name; c++)
			if (!map_get(&srv->cmds, c->name, strlen(c->name)))
				map_put(&srv->cmds, c->name, strlen(c->name), (void *)c);
}

const resp_cmd_t *resp_cmd_find(const resp_srv_t *srv, const char *name, size_t len)
{
	/* Every table name is shorter than this: a longer one cannot match. */
	char lower[32];
	if (len >= sizeof lower)
		return NULL;
	for (size_t i = 0; i < len; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	return map_get(&srv->cmds, lower, len);
}

const resp_cmd_t *resp_cmd_lookup(const resp_cmd_t *t, const char *name, size_t len)
{
	for (; t->name; t++)
		if (strlen(t->name) == len && strncasecmp(t->name, name, len) == 0)
			return t;
	return NULL;
}

/* --- shared errors and argument helpers ------------------------------------- */

void resp_err_arity(resp_cli_t *cl, const char *fullname)
{
	resp_errorf(cl->out, "ERR wrong number of arguments for '%s' command", fullname);
}

void resp_err_syntax(resp_cli_t *cl)
{
	resp_error(cl->out, "ERR syntax error");
}

void resp_err_wrongtype(resp_cli_t *cl)
{
	resp_error(cl->out, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

void resp_err_int(resp_cli_t *cl)
{
	resp_error(cl->out, "ERR value is not an integer or out of range");
}

int resp_arg_is(const resp_arg_t *a, const char *s)
{
	size_t n = strlen(s);
	return a->len == n && strncasecmp(a->p, s, n) == 0;
}

int resp_arg_ll(const resp_arg_t *a, int64_t *out)
{
	const char *s = a->p;
	size_t n = a->len, i = 0;
	int neg = 0;
	uint64_t v = 0;
	if (n == 0 || n > 20)
		return -1;
	if (n == 1 && s[0] == '0') {
		*out = 0;
		return 0;
	}
	if (s[0] == '-') {
		neg = 1;
		i = 1;
		if (n == 1)
			return -1;
	}
	if (s[i] < '1' || s[i] > '9')
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = (int64_t)(0 - v);
	} else {
		if (v > (uint64_t)INT64_MAX)
			return -1;
		*out = (int64_t)v;
	}
	return 0;
}

int resp_arg_ll_or_reply(resp_cli_t *cl, const resp_arg_t *a, int64_t *out)
{
	if (resp_arg_ll(a, out) == 0)
		return 0;
	resp_err_int(cl);
	return -1;
}

/* --- dispatch ------------------------------------------------------------------ */

static int arity_ok(const resp_cmd_t *c, int argc)
{
	return c->arity > 0 ? argc == c->arity : argc >= -c->arity;
}

static void unknown_command(resp_cli_t *cl, int argc, resp_arg_t *argv)
{
	char args[512];
	size_t o = 0;
	args[0] = 0;
	for (int i = 1; i < argc && o < 128; i++) {
		int room = 128 - (int)o;
		int len = (int)argv[i].len < room ? (int)argv[i].len : room;
		o += (size_t)snprintf(args + o, sizeof args - o, "'%.*s' ", len, argv[i].p);
	}
	int nl = argv[0].len < 128 ? (int)argv[0].len : 128;
	resp_errorf(cl->out, "ERR unknown command '%.*s', with args beginning with: %s", nl,
	            argv[0].p, args);
}

/* "parent|sub" or the name alone, for arity errors only: dispatch itself
 * never formats it, so the hot path stays free of snprintf. */
static void err_arity_of(resp_cli_t *cl, const resp_cmd_t *parent, const resp_cmd_t *cmd)
{
	char fullname[160];
	if (parent && parent != cmd)
		snprintf(fullname, sizeof fullname, "%s|%s", parent->name, cmd->name);
	else
		snprintf(fullname, sizeof fullname, "%s", cmd->name);
	resp_err_arity(cl, fullname);
}

/* Whether the request name p[0..n) is the lower-case table name lc, in
 * any case (ASCII folding, like the index lookup in the C locale). */
static int name_is(const char *lc, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!lc[i] || lc[i] != c) /* a NUL in the request must not run past lc */
			return 0;
	}
	return lc[n] == 0;
}

/* Runs a checked command: statistics, the notification context, the
 * handler (dispatch and scripts). */
static int run_cmd(resp_cli_t *cl, const resp_cmd_t *parent, const resp_cmd_t *cmd, int argc,
                   resp_arg_t *argv, int script)
{
	resp_srv_t *srv = cl->srv;
	cl->last_cmd = cmd->name;
	cl->last_parent = parent;
	srv->total_cmds++;
	/* /metrics: an error reply is one that starts with '-'. */
	const resp_cmd_t *top = parent ? parent : cmd;
	stats_cmd_t *sc = stats_cmd(STATS_TAB(srv->b, STATS_RESP), top, top->name);
	buf_t *o = cl->out;
	size_t at = o ? buf_len(o) : 0;
	/* SLOWLOG times every command while it is on (c_admin.h), the
	 * metrics one in STATS_SAMPLE: one clock read at the end of each,
	 * which starts the next of a pipelined run (srv->chain_us). */
	int sampled = stats_count(sc), slow = resp_slowlog_on(srv);
	int64_t s0 = -1;
	if (sampled || slow)
		s0 = srv->chain_us > 0 ? srv->chain_us : stats_now_us();
	if (srv->adm)
		resp_admin_before(cl, top, argc, argv);
	int rc;
	if (!srv->notify) {
		rc = cmd->fn(cl, argc, argv);
	} else {
		/* Keyspace notifications name their events after the command. */
		const resp_cmd_t *ncmd = srv->ncmd;
		resp_arg_t *nargv = srv->nargv;
		int nargc = srv->nargc;
		srv->ncmd = top;
		srv->nargv = argv;
		srv->nargc = argc;
		rc = cmd->fn(cl, argc, argv);
		srv->ncmd = ncmd;
		srv->nargv = nargv;
		srv->nargc = nargc;
	}
	int64_t dur = -1, end = 0;
	if (s0 >= 0) {
		end = stats_now_us();
		dur = end - s0;
	}
	if (srv->chain_us >= 0)
		srv->chain_us = end; /* 0 (unknown) after an untimed one */
	stats_done(sc, sampled ? dur : -1,
	           rc < 0 || (o && buf_len(o) > at && buf_data(o)[at] == '-'));
	if (srv->adm || slow)
		resp_admin_after(cl, top, cmd, argc, argv, script, slow ? dur : -1);
	return rc;
}

int resp_dispatch(resp_cli_t *cl, int argc, resp_arg_t *argv)
{
	resp_srv_t *srv = cl->srv;
	if (argc == 0)
		return 0;
	/* CLIENT PAUSE holds requests back before MULTI queues them, as
	 * Redis's processCommand does (c_client.c). */
	if (srv->adm && srv->adm->pause_until &&
	    resp_pause_hold(cl, resp_cmd_find(srv, argv[0].p, argv[0].len)))
		return RESP_POSTPONED;
	if (cl->lx && cl->lx->in_multi) {
		/* CLIENT LIST's cmd= names a queued command too, as in 7.0. */
		const resp_cmd_t *q = resp_cmd_find(srv, argv[0].p, argv[0].len);
		if (q) {
			cl->last_cmd = q->name;
			cl->last_parent = NULL;
		}
	}
	if (cl->lx && resp_lx_intercept(cl, argc, argv))
		return 0;
	/* Pipelines mostly repeat one command: checking the client's last one
	 * first skips hashing the name. */
	const resp_cmd_t *cmd = cl->last_top, *parent = NULL;
	if (!cmd || !name_is(cmd->name, argv[0].p, argv[0].len)) {
		cmd = resp_cmd_find(srv, argv[0].p, argv[0].len);
		if (!cmd) {
			unknown_command(cl, argc, argv);
			return 0;
		}
		cl->last_top = cmd;
	}
	if (cmd->subs) {
		if (argc < 2 && cmd->fn) {
			/* COMMAND alone lists everything. */
		} else if (argc < 2) {
			err_arity_of(cl, NULL, cmd);
			return 0;
		}
		const resp_cmd_t *sub =
		    argc < 2 ? cmd : resp_cmd_lookup(cmd->subs, argv[1].p, argv[1].len);
		if (!sub) {
			char up[32];
			size_t i;
			for (i = 0; cmd->name[i] && i < sizeof up - 1; i++)
				up[i] = (char)toupper((unsigned char)cmd->name[i]);
			up[i] = 0;
			int n = argv[1].len < 128 ? (int)argv[1].len : 128;
			resp_errorf(cl->out, "ERR unknown subcommand '%.*s'. Try %s HELP.", n,
			            argv[1].p, up);
			return 0;
		}
		parent = cmd;
		cmd = sub;
	}
	if (!arity_ok(cmd, argc)) {
		err_arity_of(cl, parent, cmd);
		return 0;
	}
	if (!cl->authed && !(cmd->flags & RESP_CMD_NOAUTH)) {
		resp_error(cl->out, "NOAUTH Authentication required.");
		return 0;
	}
	/* c_acl_check.c; inside EXEC the context is "multi", as Redis logs it */
	int perm = cl->user ? resp_acl_check(cl, parent, cmd, argc, argv, resp_lx_in_exec(cl)) : 0;
	if (perm)
		return perm < 0 ? -1 : 0;
	/* Redis's processCommand: while persistence is failing, writes (and
	 * PING) are refused before they run. */
	int st = ks_state(srv->ks);
	if (st && ((cmd->flags & RESP_CMD_WRITE) || cmd->fn == resp_c_ping)) {
		resp_misconf(cl->out, st);
		return 0;
	}
	if (srv->run && resp_script_refuse_busy(cl, cmd))
		return 0;
	/* Whatever the command writes survives a crash all or none; EXEC's
	 * commands and a script's calls are inside its unit (slow commands
	 * may write several records: keyspace_unit.c). */
	ks_unit_begin(srv->ks, !(cmd->flags & RESP_CMD_FAST));
	int rc = run_cmd(cl, parent, cmd, argc, argv, 0);
	ks_unit_end(srv->ks);
	return rc;
}

/* The script's refusals, as Redis 7.0's scriptCall words them. */
int resp_dispatch_script(resp_cli_t *cl, int argc, resp_arg_t *argv, int ro)
{
	const resp_cmd_t *cmd = resp_cmd_find(cl->srv, argv[0].p, argv[0].len), *parent = NULL;
	if (cmd && cmd->subs && argc >= 2) {
		parent = cmd;
		cmd = resp_cmd_lookup(cmd->subs, argv[1].p, argv[1].len);
	}
	const char *refuse = NULL;
	if (!cmd)
		refuse = "Unknown Redis command called from script";
	else if (!arity_ok(cmd, argc) || !cmd->fn)
		refuse = "Wrong number of args calling Redis command from script";
	else if (cmd->flags & RESP_CMD_NOSCRIPT)
		refuse = "This Redis command is not allowed from script";
	else if (ro && (cmd->flags & RESP_CMD_WRITE))
		refuse = "Write commands are not allowed from read-only scripts.";
	/* A script runs its commands under its caller's ACL (Redis 7.0's
	 * scriptVerifyACL texts). */
	switch (refuse ? RESP_ACL_OK : resp_acl_denied(cl, parent, cmd, argc, argv, 2)) {
	case RESP_ACL_CMD:
	case RESP_ACL_GONE:
		refuse = "The user executing the script can't run this command or subcommand";
		break;
	case RESP_ACL_KEY:
		refuse = "The user executing the script can't access at least one of the keys "
		         "mentioned in the command arguments";
		break;
	case RESP_ACL_CHANNEL:
		refuse = "The user executing the script can't publish to the channel mentioned in "
		         "the command";
		break;
	}
	if (refuse) {
		buf_puts(cl->out, refuse);
		return -1;
	}
	int st = ks_state(cl->srv->ks);
	if (st && (cmd->flags & RESP_CMD_WRITE)) {
		resp_misconf(cl->out, st);
		return -1;
	}
	/* Redis marks the script dirty before the write runs (here, where
	 * the command is already found): from then on SCRIPT KILL refuses. */
	if ((cmd->flags & RESP_CMD_WRITE) && cl->srv->run)
		cl->srv->run->dirty = 1;
	int rc = run_cmd(cl, parent, cmd, argc, argv, 1);
	return rc < 0 ? 0 : rc;
}
