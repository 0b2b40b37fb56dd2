/*
 * The request head parser (http_parse.h). Lines end in CRLF (RFC 9112 lets a
 * server accept a bare LF; refusing it keeps the parser one memmem per head,
 * and wrk, curl and every browser send CRLF).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <string.h>

#include "http_parse.h"

#define METHOD_MAX 32

/* RFC 9110 tchar: the characters of a method or a header name. */
static bool is_tchar(unsigned char c) {
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
    return true;
  if (c >= '0' && c <= '9')
    return true;
  switch (c) {
  case '!':
  case '#':
  case '$':
  case '%':
  case '&':
  case '\'':
  case '*':
  case '+':
  case '-':
  case '.':
  case '^':
  case '_':
  case '`':
  case '|':
  case '~':
    return true;
  default:
    return false;
  }
}

/* A byte of a header value: visible, space, tab, or obs-text. */
static bool is_value_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

static bool ieq(const char *a, size_t n, const char *lower) {
  if (strlen(lower) != n)
    return false;
  for (size_t i = 0; i < n; i++)
    if ((char)(a[i] | 0x20) != lower[i]) /* only compared with letters and '-' */
      return false;
  return true;
}

/*
 * Scans "METHOD SP TARGET SP HTTP/1.d CRLF" at p[0..n): 1 complete (*line_len
 * its length with CRLF, req's line fields set), 0 a valid prefix so far, -1
 * garbage. Run on every partial head, so garbage is refused at once.
 */
static int scan_request_line(const char *p, size_t n, http_request *req, size_t *line_len) {
  size_t i = 0;
  while (i < n && is_tchar((unsigned char)p[i]))
    i++;
  if (i > METHOD_MAX)
    return -1;
  if (i == n)
    return 0;
  if (p[i] != ' ' || i == 0)
    return -1;
  req->method = p;
  req->method_len = i;
  size_t t = ++i;
  while (i < n && (unsigned char)p[i] > 0x20 && p[i] != 0x7f)
    i++;
  if (i == n)
    return 0;
  if (p[i] != ' ' || i == t)
    return -1;
  req->target = p + t;
  req->target_len = i - t;
  i++; /* past the SP */
  static const char version[] = "HTTP/1.";
  for (size_t k = 0; k < sizeof(version) - 1; k++, i++) {
    if (i >= n)
      return 0;
    if (p[i] != version[k])
      return -1;
  }
  if (i >= n)
    return 0;
  if (p[i] < '0' || p[i] > '9')
    return -1;
  req->minor = p[i] - '0';
  if (++i >= n)
    return 0;
  if (p[i] != '\r')
    return -1;
  if (++i >= n)
    return 0;
  if (p[i] != '\n')
    return -1;
  *line_len = i + 1;
  return 1;
}

/* Content-Length: digits only; a second one must say the same. */
static bool parse_length(const char *v, size_t n, bool *seen, uint64_t *out) {
  if (n == 0 || n > 18)
    return false;
  uint64_t x = 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9')
      return false;
    x = x * 10 + (uint64_t)(v[i] - '0');
  }
  if (*seen && x != *out)
    return false;
  *seen = true;
  *out = x;
  return true;
}

/* Connection: a comma-separated list of options. */
static void parse_connection(const char *v, size_t n, bool *close, bool *keep) {
  size_t i = 0;
  while (i < n) {
    while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
      i++;
    size_t s = i;
    while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
      i++;
    if (ieq(v + s, i - s, "close"))
      *close = true;
    else if (ieq(v + s, i - s, "keep-alive"))
      *keep = true;
  }
}

enum http_status http_parse_head(const char *buf, size_t len, size_t max_head, uint64_t max_body,
                                 http_request *req) {
  /* RFC 9112 2.2: empty lines before a request line are ignored. */
  size_t skip = 0;
  while (skip < len && (buf[skip] == '\r' || buf[skip] == '\n'))
    skip++;
  const char *p = buf + skip;
  size_t n = len - skip;
  size_t line_len = 0;
  const char *end = memmem(p, n, "\r\n\r\n", 4);
  if (!end) {
    if (scan_request_line(p, n, req, &line_len) < 0)
      return HTTP_BAD_REQUEST;
    return len >= max_head ? HTTP_HEADERS_TOO_LARGE : HTTP_INCOMPLETE;
  }
  size_t head_len = skip + (size_t)(end - p) + 4;
  if (head_len > max_head)
    return HTTP_HEADERS_TOO_LARGE;
  if (scan_request_line(p, n, req, &line_len) != 1)
    return HTTP_BAD_REQUEST;
  req->head_len = head_len;
  req->content_length = 0;
  bool length_seen = false, close = false, keep = false, chunked = false;
  /* Header lines, each ending in CRLF; the last CRLF is the one at end. */
  const char *q = p + line_len, *stop = end + 2;
  while (q < stop) {
    const char *le = memmem(q, (size_t)(stop - q), "\r\n", 2);
    size_t nl = 0;
    while (q + nl < le && is_tchar((unsigned char)q[nl]))
      nl++;
    /* No name, or a space before the colon, or an obs-fold line: RFC 9112
     * says reject. */
    if (nl == 0 || q[nl] != ':')
      return HTTP_BAD_REQUEST;
    const char *v = q + nl + 1, *ve = le;
    for (const char *c = v; c < ve; c++)
      if (!is_value_char((unsigned char)*c))
        return HTTP_BAD_REQUEST;
    while (v < ve && (*v == ' ' || *v == '\t'))
      v++;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
      ve--;
    if (ieq(q, nl, "content-length")) {
      if (!parse_length(v, (size_t)(ve - v), &length_seen, &req->content_length))
        return HTTP_BAD_REQUEST;
    } else if (ieq(q, nl, "transfer-encoding")) {
      chunked = true;
    } else if (ieq(q, nl, "connection")) {
      parse_connection(v, (size_t)(ve - v), &close, &keep);
    }
    q = le + 2;
  }
  if (chunked)
    return HTTP_NOT_IMPLEMENTED;
  if (req->content_length > max_body)
    return HTTP_BODY_TOO_LARGE;
  req->keep_alive = !close && (req->minor >= 1 || keep);
  return HTTP_OK;
}
