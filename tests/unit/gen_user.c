/*
 * gen_user: generated users for the search tests (gen_user.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gen_user.h"

static uint64_t gen_state = 0x9e3779b97f4a7c15ULL;

void
gen_seed(uint64_t seed)
{
	gen_state = seed != 0 ? seed : 0x9e3779b97f4a7c15ULL;
}

unsigned
gen_rnd(unsigned n)
{
	gen_state ^= gen_state << 13;
	gen_state ^= gen_state >> 7;
	gen_state ^= gen_state << 17;
	return (unsigned)(gen_state % n);
}

const char *const gen_plans[] = { "gold", "silver", "bronze", "Gold", "free trial" };
const char *const gen_cities[] = { "Paris", "Oslo", "Lima", "paris", "New York" };
const char *const gen_tags[] = { "red", "blue", "green", "vip", "beta" };
const char *const gen_roles[] = { "admin", "editor", "viewer" };
const char *const gen_firsts[] = { "Jane", "John", "Ana", "Li", "Zoe" };
const char *const gen_lasts[] = { "Smith", "Doe", "Garcia", "Wang" };

void
gen_user(int i, char *body, size_t cap)
{
	char md[2048], am[1024], extra[512];
	size_t o = 0, a = 0;
	unsigned k, n;

	o += (size_t)snprintf(md + o, sizeof(md) - o, "{");
	o += (size_t)snprintf(md + o, sizeof(md) - o, "\"seq\":%d", i);
	if (gen_rnd(4) != 0)
		o += (size_t)snprintf(md + o, sizeof(md) - o, ",\"plan\":\"%s\"",
		    gen_plans[gen_rnd(5)]);
	switch (gen_rnd(4)) {
	case 0:
		o += (size_t)snprintf(md + o, sizeof(md) - o, ",\"age\":%u", 18 + gen_rnd(10));
		break;
	case 1:
		o += (size_t)snprintf(md + o, sizeof(md) - o, ",\"age\":%u.0", 18 + gen_rnd(10));
		break;
	case 2:
		o += (size_t)snprintf(md + o, sizeof(md) - o, ",\"age\":\"%u\"", 18 + gen_rnd(10));
		break;
	default:
		break;
	}
	if (gen_rnd(3) == 0)
		o += (size_t)snprintf(md + o, sizeof(md) - o, ",\"score\":%u.5", gen_rnd(3));
	n = gen_rnd(4);
	if (n > 0 || gen_rnd(2) == 0) {
		o += (size_t)snprintf(md + o, sizeof(md) - o, ",\"tags\":[");
		for (k = 0; k < n; k++)
			o += (size_t)snprintf(md + o, sizeof(md) - o, "%s\"%s\"", k ? "," : "",
			    gen_tags[gen_rnd(5)]);
		o += (size_t)snprintf(md + o, sizeof(md) - o, "]");
	}
	if (gen_rnd(2) == 0) {
		o += (size_t)snprintf(md + o, sizeof(md) - o, ",\"addresses\":[");
		n = 1 + gen_rnd(2);
		for (k = 0; k < n; k++)
			o += (size_t)snprintf(md + o, sizeof(md) - o, "%s{\"city\":\"%s\"%s}",
			    k ? "," : "", gen_cities[gen_rnd(5)], gen_rnd(2) ? ",\"zip\":null" : "");
		o += (size_t)snprintf(md + o, sizeof(md) - o, "]");
	}
	if (gen_rnd(3) == 0)
		o += (size_t)snprintf(md + o, sizeof(md) - o,
		    ",\"prefs\":{\"dark\":%s,\"lang\":\"%s\",\"empty\":{}}",
		    gen_rnd(2) ? "true" : "false", gen_rnd(2) ? "fr" : "en");
	if (gen_rnd(5) == 0)
		o += (size_t)snprintf(md + o, sizeof(md) - o, ",\"nothing\":null");
	snprintf(md + o, sizeof(md) - o, "}");

	a += (size_t)snprintf(am + a, sizeof(am) - a, "{");
	if (gen_rnd(2) == 0)
		a += (size_t)snprintf(am + a, sizeof(am) - a, "\"roles\":[\"%s\"],",
		    gen_roles[gen_rnd(3)]);
	a += (size_t)snprintf(am + a, sizeof(am) - a, "\"tier\":%u,\"active\":%s}", gen_rnd(3),
	    gen_rnd(3) ? "true" : "false");

	extra[0] = '\0';
	if (gen_rnd(3) == 0)
		snprintf(extra, sizeof(extra), ",\"blocked\":%s", gen_rnd(2) ? "true" : "false");
	if (gen_rnd(2) == 0)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
		    ",\"given_name\":\"%s\",\"family_name\":\"%s\"", gen_firsts[gen_rnd(5)],
		    gen_lasts[gen_rnd(4)]);
	if (gen_rnd(4) == 0)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
		    ",\"email_verified\":true");
	snprintf(body, cap, "{\"email\":\"%s.%s%d@Example%u.com\",\"connection\":"
	    "\"Username-Password-Authentication\",\"name\":\"%s %s\",\"nickname\":\"%s\","
	    "\"user_metadata\":%s,\"app_metadata\":%s%s}",
	    gen_firsts[gen_rnd(5)], gen_lasts[gen_rnd(4)], i, gen_rnd(3), gen_firsts[gen_rnd(5)], gen_lasts[gen_rnd(4)],
	    gen_firsts[gen_rnd(5)], md, am, extra);
}
