/*
 * gen_user: generated users for the search tests (test_sindex and the cost
 * fuzzer tests/fuzz/fuzz_cost): profile fields and user_metadata /
 * app_metadata whose values repeat across users (the pools below), with
 * numbers, strings that look like numbers, arrays, arrays of objects,
 * nested objects and nulls.  A small xorshift generator makes them, so one
 * seed gives the same users on every run and every machine.
 */
#ifndef MK_TEST_GEN_USER_H
#define MK_TEST_GEN_USER_H

#include <stddef.h>
#include <stdint.h>

/* The value pools, for queries that hit the generated data. */
extern const char *const gen_plans[5];
extern const char *const gen_cities[5];
extern const char *const gen_tags[5];
extern const char *const gen_roles[3];
extern const char *const gen_firsts[5];
extern const char *const gen_lasts[4];

/* Restart the generator at seed (not 0). */
void gen_seed(uint64_t seed);

/* A number in [0, n), n > 0. */
unsigned gen_rnd(unsigned n);

/*
 * The JSON body (a POST /api/v2/users body; also an Auth0 bulk import
 * record) of user i into body (cap bytes; 4096 are always enough).  Its
 * email holds i, so users of one run are distinct.
 */
void gen_user(int i, char *body, size_t cap);

#endif
