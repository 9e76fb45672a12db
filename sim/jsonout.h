/* One-line "member: value" helpers for the JSON writers (json-glib's JsonBuilder). */
#ifndef MMSIM_JSONOUT_H
#define MMSIM_JSONOUT_H

#include <json-glib/json-glib.h>

static inline void json_add_string(JsonBuilder *b, const char *k, const char *v)
{
	json_builder_set_member_name(b, k);
	json_builder_add_string_value(b, v);
}

static inline void json_add_int(JsonBuilder *b, const char *k, gint64 v)
{
	json_builder_set_member_name(b, k);
	json_builder_add_int_value(b, v);
}

static inline void json_add_double(JsonBuilder *b, const char *k, double v)
{
	json_builder_set_member_name(b, k);
	json_builder_add_double_value(b, v);
}

static inline void json_add_bool(JsonBuilder *b, const char *k, gboolean v)
{
	json_builder_set_member_name(b, k);
	json_builder_add_boolean_value(b, v);
}

#endif
