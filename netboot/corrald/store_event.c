/*
 * store_event: boot events (the timeline), written in batches; each event
 * also moves its node's state and last stage, records the address a MAC
 * was last seen at, or counts a request from a machine no node has.
 * See store.h.
 */
#include <errno.h>

#include "store.h"
#include "store_int.h"

/* A request from a MAC no node has: remember or count the machine. */
static int store_event_discovered(struct store_conn *c, const struct store_event *e)
{
	sqlite3_stmt *s = store_qc(c, ST_EVENT_DISCOVERED, STORE_TEXT(e->mac),
				   STORE_TEXT(e->source), STORE_INT(e->time_us));
	return s ? store_done(c, s) : -EIO;
}

static int store_event_one(struct store_conn *c, const struct store_event *e)
{
	if (e->node_id == 0)
		return store_event_discovered(c, e);
	sqlite3_stmt *s =
		store_qc(c, ST_EVENT_ADD, STORE_INT(e->node_id), STORE_INT(e->time_us),
			 STORE_TEXT(e->stage), STORE_TEXT(e->source), STORE_TEXT(e->detail));
	if (s == NULL)
		return -EIO;
	int rc = store_done(c, s);
	if (rc == -EEXIST)
		return 0; /* the node was deleted meanwhile: drop its event */
	if (rc < 0)
		return rc;
	s = store_qc(c, ST_EVENT_NODE, STORE_INT(e->node_id), STORE_TEXT(e->stage),
		     STORE_INT(e->time_us), STORE_TEXT(e->state));
	if (s == NULL || (rc = store_done(c, s)) < 0)
		return s ? rc : -EIO;
	if (e->mac[0] == '\0' || e->source[0] == '\0')
		return 0;
	s = store_qc(c, ST_EVENT_LAST_IP, STORE_TEXT(e->mac), STORE_TEXT(e->source));
	return s ? store_done(c, s) : -EIO;
}

int store_events_write(struct store *st, const struct store_event *ev, size_t n)
{
	struct store_conn *c;
	int rc = store_write_begin(st, &c);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = store_event_one(c, &ev[i]);
	return store_write_end(st, c, rc, false);
}

static json_t *store_event_row(const void *ctx, sqlite3_stmt *s)
{
	(void)ctx;
	return json_pack("{s:o, s:s, s:s, s:s}", "time", store_col_time(s, 0), "stage",
			 store_col_text(s, 1), "source", store_col_text(s, 2), "detail",
			 store_col_text(s, 3));
}

int store_events_list(struct store *st, int64_t node_id, long long limit, json_t **out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_EVENT_LIST, STORE_INT(node_id), STORE_INT(limit));
	return s ? store_rows(c, s, store_event_row, NULL, out) : -EIO;
}

int store_events_prune(struct store *st, int64_t before_us, int per_node)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_EVENT_PRUNE, STORE_INT(before_us));
	int rc = s ? store_done(c, s) : -EIO;
	if (rc < 0)
		return rc;
	s = store_qc(c, ST_EVENT_CAP, STORE_INT(per_node));
	return s ? store_done(c, s) : -EIO;
}
