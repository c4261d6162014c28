/*
 * assets.c — serving the console's files (assets.h): "/" is index.html,
 * every other file is at /NAME. The console is one page; its views are
 * chosen by the URL's fragment (#/topics), so every view loads from "/".
 *
 * Files are served with an ETag (a hash of their bytes, computed once per
 * request; they are small) so that a browser's reload revalidates instead
 * of downloading again. Loop thread only.
 */
#include "http/assets.h"
#include "http/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

int http_asset(http_req_t *r, const char *path)
{
	if (!strcmp(path, "/") || !strcmp(path, "/index.html"))
		path = "/index.html";
	for (const http_asset_t *a = http_assets; a->path; a++) {
		if (strcmp(a->path, path) != 0)
			continue;
		char hdrs[128];
		snprintf(hdrs, sizeof hdrs, "ETag: \"%08x\"\r\nX-Content-Type-Options: nosniff\r\n",
		         fnv1a(a->data, a->len));
		http_reply_hdrs(r, 200, a->ctype, hdrs, a->data, a->len);
		return 1;
	}
	return 0;
}
