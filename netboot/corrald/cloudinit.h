/*
 * cloudinit: what corrald serves a node's cloud-init (NoCloud datasource):
 * meta-data, merged user-data, vendor-data; and the YAML checks made when
 * an operator stores user-data.
 *
 * YAML is read from libyaml's event stream straight into JSON values (no
 * libyaml document is built), resolving plain scalars as cloud-init's
 * PyYAML does (YAML 1.1: yes/no/on/off are booleans, ~ is null), so merged
 * output means what each layer meant.  Merged output is written as JSON,
 * which is valid YAML.  Inputs are bounded while they are read: at most
 * CLOUDINIT_MAX_NODES values (an alias counts as what it stands for) and
 * CLOUDINIT_MAX_DEPTH nested collections, so alias bombs and deep nesting
 * are refused at the event that crosses the line, not expanded.
 */
#ifndef CORRAL_CLOUDINIT_H
#define CORRAL_CLOUDINIT_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"

#define CLOUDINIT_MAX_NODES 20000
#define CLOUDINIT_MAX_DEPTH 64 /* nested mappings and sequences, as JSONDEPTH_MAX */

/*
 * Parses the first YAML document of text into *out (new reference; JSON
 * null for an empty document).  On error returns -EINVAL and writes
 * "line N: problem" into err.
 */
int cloudinit_yaml_parse(const char *text, json_t **out, char *err, size_t errlen);
/*
 * Checks user-data as stored by an operator: "" is fine; "#cloud-config"
 * must be YAML whose top level is a mapping (or empty); scripts and other
 * cloud-init formats ("#!", "#include", "#cloud-boothook", MIME) are taken
 * as they are; anything else is refused.  -EINVAL with a message in err.
 */
int cloudinit_check_user_data(const char *text, char *err, size_t errlen);
/* 1 if text starts with the #cloud-config header. */
int cloudinit_is_cloud_config(const char *text);
/* Deep-merges src into dst: mappings key by key, lists appended, other values replaced. */
void cloudinit_merge(json_t *dst, json_t *src);
/*
 * meta-data for node name from metadata layers (array of objects, least
 * specific first): instance-id and local-hostname, then the layers merged.
 */
int cloudinit_meta_data(const char *name, json_t *layers, struct buf *out);
/*
 * user-data from layers (array of strings, least specific first): the
 * most specific non-empty layer as it is if it is not #cloud-config,
 * else every #cloud-config layer merged.  Layers were checked on write; a
 * layer that no longer parses is skipped.
 */
int cloudinit_user_data(json_t *layers, struct buf *out);

#endif
