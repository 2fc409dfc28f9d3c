/*
 * A minimal, strict JSON scanner for the weir CNI plugin. The plugin never builds a document tree:
 * it validates the whole input once, then looks at a few top-level members of an object by their
 * byte spans (so the prevResult can be echoed back byte for byte and the config forwarded verbatim).
 */
#ifndef WEIR_CNI_JSON_H
#define WEIR_CNI_JSON_H

#include <stddef.h>

/* A byte range inside the input; p == NULL means "member absent". */
struct json_span {
	const char *p;
	size_t n;
};

/*
 * Validates that s[0..n) holds exactly one JSON object (whitespace around it allowed) and, for each
 * of the nkeys wanted top-level keys, stores the span of its value in vals[i] (the last occurrence
 * wins, as in Go's encoding/json). Nesting is bounded (JSON_MAX_DEPTH). Returns 0, or -1 with *err
 * set to a static message and *errpos to the byte offset of the problem.
 */
#define JSON_MAX_DEPTH 128
int json_object_members(const char *s, size_t n, const char *const *keys, size_t nkeys, struct json_span *vals,
			const char **err, size_t *errpos);

/* The value is a JSON string: decodes it (escapes, \u to UTF-8) into out, NUL-terminated.
 * Returns the decoded length, or -1 if it is not a string, does not fit, or contains U+0000. */
long json_string_value(struct json_span v, char *out, size_t outsz);

/* The value is a JSON number: returns 0 and stores it, or -1. */
int json_number_value(struct json_span v, double *out);

/* The value is exactly the literal lit (true, false, null). */
int json_is_literal(struct json_span v, const char *lit);

/* The value is an object ({...}). */
int json_is_object(struct json_span v);

/* Writes s (length n) as a JSON string literal with quotes into out; returns bytes written or -1
 * when it does not fit. Bytes >= 0x80 pass through unchanged. */
long json_quote(const char *s, size_t n, char *out, size_t outsz);

#endif
