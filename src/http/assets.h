/*
 * assets.h — the web console's files, compiled into sluiced.
 *
 * The build turns every file of src/http/console/ into a byte array
 * (src/http/embed_assets.sh writes build/MODE/gen/console_assets.c), so
 * the console needs no files beside the binary and no build step at run
 * time. Constant data; thread-safe.
 */
#ifndef SL_HTTP_ASSETS_H
#define SL_HTTP_ASSETS_H

#include <stddef.h>

typedef struct http_asset {
	const char *path; /* "/app.js" */
	const char *ctype;
	const unsigned char *data;
	size_t len;
} http_asset_t;

/* Ends with a row whose path is NULL. */
extern const http_asset_t http_assets[];

#endif
