/*
 * cli_yaml: YAML text to a jansson value, for `corral node import`.
 *
 * Only the first document is read.  Plain (unquoted) scalars are typed the
 * way YAML 1.2's core schema reads them, restricted to what import files
 * need: decimal integers become integers, true/false booleans, null, ~ and
 * an empty value null; every other scalar, and every quoted one, a string.
 * Mapping keys must be scalars and unique.  Aliases are followed, with a
 * depth and a node-count cap so that a hostile file ("billion laughs", a
 * self-referencing anchor) fails instead of exhausting memory.
 * Leaf module apart from libyaml and jansson.
 *
 * Callers: cli_cmds (node import) only.
 */
#ifndef CORRAL_CLI_YAML_H
#define CORRAL_CLI_YAML_H

#include <stddef.h>

#include <jansson.h>

/*
 * Converts text (len bytes) into *out (the caller's).  Returns 0, or
 * -EINVAL with "line N: why" in err.
 */
int cli_yaml_to_json(const char *text, size_t len, json_t **out, char *err, size_t errlen);

#endif
