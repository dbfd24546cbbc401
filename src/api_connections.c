/*
 * api_connections: GET /api/v2/connections.  Each configured name becomes
 * one of Auth0's connection objects:
 *
 *   {"id":"con_<16 hex of SHA-256(name)>","name":N,"display_name":N,
 *    "strategy":"auth0","is_domain_connection":false,"options":{},
 *    "realms":[N]}
 *
 * (the id is stable: the same name gives the same id on every start).
 * Query: page, per_page, include_totals ({"connections":[...],"start",
 * "limit","total"}), fields, include_fields, and Auth0's filters name and
 * strategy (only "auth0" matches).  Bounded: at most CONF_MAX_CONNECTIONS.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "api_connections.h"
#include "auth.h"
#include "buf.h"
#include "model.h"
#include "util.h"

#define CONN_STRATEGY "auth0"

/* One connection object as JSON text in rec (reset first). */
static void
conn_json(struct mk_buf *rec, const char *name)
{
	struct json_object *o, *realms;
	char hex[65], id[4 + 16 + 1];

	mk_sha256_hex(name, strlen(name), hex);
	snprintf(id, sizeof(id), "con_%.16s", hex);
	o = json_object_new_object();
	realms = json_object_new_array();
	buf_reset(rec);
	if (o == NULL || realms == NULL) {
		json_object_put(o);
		json_object_put(realms);
		rec->failed = 1;
		return;
	}
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "display_name", json_object_new_string(name));
	json_object_object_add(o, "strategy", json_object_new_string(CONN_STRATEGY));
	json_object_object_add(o, "is_domain_connection", json_object_new_boolean(0));
	json_object_object_add(o, "options", json_object_new_object());
	json_object_array_add(realms, json_object_new_string(name));
	json_object_object_add(o, "realms", realms);
	buf_reset(rec);
	buf_adds(rec, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

enum mk_code
api_connections_list(struct api_ctx *c)
{
	static const char *const dflt[] = { MODEL_DEFAULT_CONNECTION, NULL };
	const char *const *names = c->conf->limits.connections != NULL ?
	    c->conf->limits.connections : dflt;
	struct mk_buf *out = &c->rs->body, rec = MK_BUF_INIT;
	struct api_fields f;
	struct api_paging pq;
	char want_name[API_QVAL_MAX], want_strategy[API_QVAL_MAX];
	size_t matched = 0, shown = 0, i;
	enum mk_code rc = MK_OK;
	int rn, rs;

	if ((rc = api_query_paging(c->query, &pq, &c->err)) != MK_OK ||
	    (rc = api_query_fields(c->query, &f, &c->err)) != MK_OK)
		return rc;
	if ((rn = api_query_get(c->query, "name", want_name, sizeof(want_name))) < 0)
		return api_query_bad(&c->err, "name", "Invalid value");
	rs = api_query_get(c->query, "strategy", want_strategy, sizeof(want_strategy));
	if (rs < 0)
		return api_query_bad(&c->err, "strategy", "Invalid value");

	buf_reset(out);
	if (pq.totals)
		buf_adds(out, "{\"connections\":");
	buf_addc(out, '[');
	for (i = 0; names[i] != NULL; i++) {
		if (rn > 0 && strcmp(want_name, names[i]) != 0)
			continue;
		if (rs > 0 && strcmp(want_strategy, CONN_STRATEGY) != 0)
			continue;
		if (matched++ < pq.skip || shown >= (size_t)pq.per_page)
			continue;
		conn_json(&rec, names[i]);
		if (rec.failed) {
			rc = MK_ERR_NOMEM;
			break;
		}
		if (shown++ > 0)
			buf_addc(out, ',');
		if ((rc = api_emit_record(out, (struct mk_slice){ rec.p, rec.n }, &f, 0))
		    != MK_OK)
			break;
	}
	buf_free(&rec);
	if (rc != MK_OK)
		return mk_fail(&c->err, rc, "listing connections failed");
	buf_addc(out, ']');
	if (pq.totals)
		buf_printf(out, ",\"start\":%zu,\"limit\":%ld,\"total\":%zu}", pq.skip,
		    pq.per_page, matched);
	c->rs->status = 200;
	return out->failed ? mk_fail(&c->err, MK_ERR_NOMEM, "out of memory") : MK_OK;
}
