/*
 * The scenario's rmap walker (field `rmap_walker`; models/mm/vmscan.c), read for
 * sim/config.c:
 *
 *   rmap_walker = { cpus = 2, kind = "reclaim", batch = 32, interval_us = 100 }
 *
 * cpus: walker threads, one per CPU after the scenario's and the secondary MMU's (default
 * 1); kind: what a pass does with the folios it isolates ("reclaim": shrink_folio_list's
 * rmap part, "migrate": migrate_pages to new frames); batch: folios
 * isolated per pass (default 32, SWAP_CLUSTER_MAX); interval_us: simulated sleep between
 * passes (default 100).  The threads run until the scenario's duration ends, so the
 * scenario needs duration_ms.
 */
#include <string.h>
#include <lauxlib.h>
#include "config.h"
#include "mm/vmscan.h"

const char *const config_rmap_walker_kind_names[] = { "reclaim", "migrate", NULL };

static bool known_key(const char *k)
{
	static const char *const keys[] = { "cpus", "kind", "batch", "interval_us", NULL };
	for (int i = 0; keys[i]; i++)
		if (!strcmp(keys[i], k))
			return true;
	return false;
}

/* An integer in [lo, hi] at key of table w, or def if absent. */
static long read_int(lua_State *L, int w, const char *key, long lo, long hi, long def)
{
	lua_getfield(L, w, key);
	long v = def;
	if (!lua_isnil(L, -1)) {
		int ok;
		lua_Integer i = lua_tointegerx(L, -1, &ok);
		if (!ok)
			luaL_error(L, "rmap_walker: '%s' must be an integer, got %s", key,
				   luaL_tolstring(L, -1, NULL));
		if (i < lo || i > hi)
			luaL_error(L, "rmap_walker: '%s' = %I must be in [%d, %d]", key, i, (int)lo,
				   (int)hi);
		v = (long)i;
	}
	lua_pop(L, 1);
	return v;
}

void config_read_rmap_walker(lua_State *L, int sc, struct run_config *cfg, int max_cpus)
{
	lua_getfield(L, sc, "rmap_walker");
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return;
	}
	int w = lua_gettop(L);
	if (!lua_istable(L, w))
		luaL_error(L, "scenario: 'rmap_walker' must be a table "
			   "{ cpus, kind, batch, interval_us }, got %s", luaL_typename(L, w));
	lua_pushnil(L);
	while (lua_next(L, w)) {
		if (lua_type(L, -2) != LUA_TSTRING || !known_key(lua_tostring(L, -2)))
			luaL_error(L, "rmap_walker: unknown field '%s' (expected cpus, kind, batch, "
				   "interval_us)", luaL_tolstring(L, -2, NULL));
		lua_pop(L, 1);
	}
	cfg->walker_cpus = (int)read_int(L, w, "cpus", 1, max_cpus, 1);
	cfg->walker_batch = (int)read_int(L, w, "batch", 1, RMAP_WALKER_MAX_BATCH, 32);
	lua_getfield(L, w, "kind");
	cfg->walker_kind = RMAP_WALKER_RECLAIM;
	if (!lua_isnil(L, -1)) {
		const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		int i = 0;
		while (k && config_rmap_walker_kind_names[i] &&
		       strcmp(config_rmap_walker_kind_names[i], k))
			i++;
		if (!k || !config_rmap_walker_kind_names[i])
			luaL_error(L, "rmap_walker: 'kind' must be \"reclaim\" or \"migrate\", got %s",
				   luaL_tolstring(L, -1, NULL));
		cfg->walker_kind = i;
	}
	lua_pop(L, 1);
	lua_getfield(L, w, "interval_us");
	cfg->walker_interval_us = 100;
	if (!lua_isnil(L, -1)) {
		int ok;
		double d = lua_tonumberx(L, -1, &ok);
		if (!ok)
			luaL_error(L, "rmap_walker: 'interval_us' must be a number, got %s",
				   luaL_typename(L, -1));
		if (!(d > 0 && d <= 1e6))
			luaL_error(L, "rmap_walker: 'interval_us' = %f must be in (0, 1000000]", d);
		cfg->walker_interval_us = d;
	}
	lua_pop(L, 2);
	if (!(cfg->duration_ms > 0))
		luaL_error(L, "rmap_walker: needs 'duration_ms' (its threads run until the "
			   "scenario's duration ends)");
}

void config_rmap_walker_json(JsonBuilder *b, const struct run_config *cfg)
{
	if (!cfg->walker_cpus)
		return;
	json_builder_set_member_name(b, "rmap_walker");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "cpus");
	json_builder_add_int_value(b, cfg->walker_cpus);
	json_builder_set_member_name(b, "kind");
	json_builder_add_string_value(b, config_rmap_walker_kind_names[cfg->walker_kind]);
	json_builder_set_member_name(b, "batch");
	json_builder_add_int_value(b, cfg->walker_batch);
	json_builder_set_member_name(b, "interval_us");
	json_builder_add_double_value(b, cfg->walker_interval_us);
	json_builder_end_object(b);
}
