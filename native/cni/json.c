/* Strict JSON scanning for the weir CNI plugin; see json.h for why it is span-based. */
#include "json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *s;
	size_t n;
	size_t i;
	int depth;
	const char *err;
};

/* Top-level capture: only the outermost object records its members. */
struct capture {
	const char *const *keys;
	size_t nkeys;
	struct json_span *vals;
};

static int fail(struct parser *p, const char *msg)
{
	if (!p->err)
		p->err = msg;
	return -1;
}

static void skip_ws(struct parser *p)
{
	while (p->i < p->n) {
		char c = p->s[p->i];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		p->i++;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* At the opening quote; leaves p->i after the closing quote. */
static int parse_string(struct parser *p)
{
	p->i++;
	while (p->i < p->n) {
		unsigned char c = (unsigned char)p->s[p->i++];
		if (c == '"')
			return 0;
		if (c < 0x20)
			return fail(p, "control character inside a string");
		if (c != '\\')
			continue;
		if (p->i >= p->n)
			break;
		c = (unsigned char)p->s[p->i++];
		switch (c) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't': break;
		case 'u':
			if (p->n - p->i < 4)
				return fail(p, "truncated \\u escape");
			for (int k = 0; k < 4; k++)
				if (hexval(p->s[p->i + k]) < 0)
					return fail(p, "bad \\u escape");
			p->i += 4;
			break;
		default: return fail(p, "bad escape in a string");
		}
	}
	return fail(p, "unterminated string");
}

static int digits(struct parser *p)
{
	size_t start = p->i;
	while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
		p->i++;
	return p->i > start ? 0 : fail(p, "bad number");
}

static int parse_number(struct parser *p)
{
	if (p->s[p->i] == '-')
		p->i++;
	if (p->i >= p->n)
		return fail(p, "bad number");
	if (p->s[p->i] == '0')
		p->i++;
	else if (digits(p))
		return -1;
	if (p->i < p->n && p->s[p->i] == '.') {
		p->i++;
		if (digits(p))
			return -1;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (digits(p))
			return -1;
	}
	return 0;
}

static int parse_literal(struct parser *p, const char *lit)
{
	size_t len = strlen(lit);
	if (p->n - p->i < len || memcmp(p->s + p->i, lit, len) != 0)
		return fail(p, "unexpected token");
	p->i += len;
	return 0;
}

static int parse_value(struct parser *p, const struct capture *cap);

static int enter(struct parser *p)
{
	if (++p->depth > JSON_MAX_DEPTH)
		return fail(p, "nesting too deep");
	p->i++;
	skip_ws(p);
	return 0;
}

static void record(const struct capture *cap, struct json_span key, struct json_span val)
{
	char name[64];
	if (json_string_value(key, name, sizeof(name)) < 0)
		return; /* longer than any key we look for */
	for (size_t k = 0; k < cap->nkeys; k++)
		if (strcmp(name, cap->keys[k]) == 0)
			cap->vals[k] = val;
}

static int parse_object(struct parser *p, const struct capture *cap)
{
	if (enter(p))
		return -1;
	if (p->i < p->n && p->s[p->i] == '}') {
		p->i++;
		p->depth--;
		return 0;
	}
	for (;;) {
		if (p->i >= p->n || p->s[p->i] != '"')
			return fail(p, "expected a string key");
		struct json_span key = { p->s + p->i, 0 };
		if (parse_string(p))
			return -1;
		key.n = (size_t)(p->s + p->i - key.p);
		skip_ws(p);
		if (p->i >= p->n || p->s[p->i] != ':')
			return fail(p, "expected ':'");
		p->i++;
		skip_ws(p);
		struct json_span val = { p->s + p->i, 0 };
		if (parse_value(p, NULL))
			return -1;
		val.n = (size_t)(p->s + p->i - val.p);
		if (cap)
			record(cap, key, val);
		skip_ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			skip_ws(p);
			continue;
		}
		if (p->i < p->n && p->s[p->i] == '}') {
			p->i++;
			p->depth--;
			return 0;
		}
		return fail(p, "expected ',' or '}'");
	}
}

static int parse_array(struct parser *p)
{
	if (enter(p))
		return -1;
	if (p->i < p->n && p->s[p->i] == ']') {
		p->i++;
		p->depth--;
		return 0;
	}
	for (;;) {
		if (parse_value(p, NULL))
			return -1;
		skip_ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			skip_ws(p);
			continue;
		}
		if (p->i < p->n && p->s[p->i] == ']') {
			p->i++;
			p->depth--;
			return 0;
		}
		return fail(p, "expected ',' or ']'");
	}
}

static int parse_value(struct parser *p, const struct capture *cap)
{
	if (p->i >= p->n)
		return fail(p, "unexpected end of input");
	switch (p->s[p->i]) {
	case '{': return parse_object(p, cap);
	case '[': return parse_array(p);
	case '"': return parse_string(p);
	case 't': return parse_literal(p, "true");
	case 'f': return parse_literal(p, "false");
	case 'n': return parse_literal(p, "null");
	default:
		if (p->s[p->i] == '-' || (p->s[p->i] >= '0' && p->s[p->i] <= '9'))
			return parse_number(p);
		return fail(p, "unexpected character");
	}
}

int json_object_members(const char *s, size_t n, const char *const *keys, size_t nkeys, struct json_span *vals,
			const char **err, size_t *errpos)
{
	struct parser p = { s, n, 0, 0, NULL };
	struct capture cap = { keys, nkeys, vals };
	for (size_t k = 0; k < nkeys; k++)
		vals[k] = (struct json_span){ NULL, 0 };
	skip_ws(&p);
	if (p.i >= p.n || s[p.i] != '{') {
		fail(&p, "expected a JSON object");
	} else if (parse_object(&p, &cap) == 0) {
		skip_ws(&p);
		if (p.i == p.n)
			return 0;
		fail(&p, "trailing data after the object");
	}
	*err = p.err;
	*errpos = p.i;
	return -1;
}

static size_t put_utf8(uint32_t cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int hex4(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	for (int k = 0; k < 4; k++) {
		int h = hexval(s[k]);
		if (h < 0)
			return -1;
		v = (v << 4) | (uint32_t)h;
	}
	*out = v;
	return 0;
}

/* The span was validated by the scanner, but decoding re-checks bounds anyway: it is cheap. */
long json_string_value(struct json_span v, char *out, size_t outsz)
{
	if (!v.p || v.n < 2 || v.p[0] != '"' || v.p[v.n - 1] != '"' || outsz == 0)
		return -1;
	const char *s = v.p + 1, *end = v.p + v.n - 1;
	size_t o = 0;
	while (s < end) {
		char buf[4];
		size_t len = 1;
		if (*s != '\\') {
			buf[0] = *s++;
		} else {
			if (end - s < 2)
				return -1;
			char e = s[1];
			s += 2;
			switch (e) {
			case '"': buf[0] = '"'; break;
			case '\\': buf[0] = '\\'; break;
			case '/': buf[0] = '/'; break;
			case 'b': buf[0] = '\b'; break;
			case 'f': buf[0] = '\f'; break;
			case 'n': buf[0] = '\n'; break;
			case 'r': buf[0] = '\r'; break;
			case 't': buf[0] = '\t'; break;
			case 'u': {
				uint32_t cp, lo;
				if (end - s < 4 || hex4(s, &cp))
					return -1;
				s += 4;
				if (cp >= 0xd800 && cp < 0xdc00) {
					if (end - s < 6 || s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &lo) ||
					    lo < 0xdc00 || lo >= 0xe000)
						return -1;
					s += 6;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				} else if (cp >= 0xdc00 && cp < 0xe000) {
					return -1;
				}
				if (cp == 0)
					return -1;
				len = put_utf8(cp, buf);
				break;
			}
			default: return -1;
			}
		}
		if (buf[0] == '\0' || o + len >= outsz)
			return -1;
		memcpy(out + o, buf, len);
		o += len;
	}
	out[o] = '\0';
	return (long)o;
}

int json_number_value(struct json_span v, double *out)
{
	char buf[64];
	if (!v.p || v.n == 0 || v.n >= sizeof(buf))
		return -1;
	if (v.p[0] != '-' && (v.p[0] < '0' || v.p[0] > '9'))
		return -1;
	memcpy(buf, v.p, v.n);
	buf[v.n] = '\0';
	char *endp = NULL;
	double d = strtod(buf, &endp);
	if (!endp || *endp != '\0')
		return -1;
	*out = d;
	return 0;
}

int json_is_literal(struct json_span v, const char *lit)
{
	return v.p && v.n == strlen(lit) && memcmp(v.p, lit, v.n) == 0;
}

int json_is_object(struct json_span v)
{
	return v.p && v.n >= 2 && v.p[0] == '{';
}

long json_quote(const char *s, size_t n, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
#define PUT(c)                     \
	do {                       \
		if (o >= outsz)    \
			return -1; \
		out[o++] = (c);    \
	} while (0)
	PUT('"');
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)s[k];
		if (c == '"' || c == '\\') {
			PUT('\\');
			PUT((char)c);
		} else if (c == '\n') {
			PUT('\\');
			PUT('n');
		} else if (c == '\t') {
			PUT('\\');
			PUT('t');
		} else if (c < 0x20) {
			PUT('\\');
			PUT('u');
			PUT('0');
			PUT('0');
			PUT(hex[c >> 4]);
			PUT(hex[c & 0xf]);
		} else {
			PUT((char)c);
		}
	}
	PUT('"');
#undef PUT
	return (long)o;
}
