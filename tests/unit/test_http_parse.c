/* The request head parser of the HTTP example (examples/http_parse.c), alone. */
#include <criterion/criterion.h>
#include <string.h>

#include "http_parse.h"

#define MAX_HEAD 8192
#define MAX_BODY (1u << 20)

static enum http_status parse(const char *s, http_request *req) {
  return http_parse_head(s, strlen(s), MAX_HEAD, MAX_BODY, req);
}

Test(http_parse, a_simple_get) {
  http_request r;
  const char *s = "GET /index HTTP/1.1\r\nHost: x\r\n\r\n";
  cr_assert_eq(parse(s, &r), HTTP_OK);
  cr_assert_eq(r.head_len, strlen(s));
  cr_assert_eq(r.method_len, 3);
  cr_assert_eq(memcmp(r.method, "GET", 3), 0);
  cr_assert_eq(r.target_len, 6);
  cr_assert_eq(memcmp(r.target, "/index", 6), 0);
  cr_assert_eq(r.minor, 1);
  cr_assert_eq(r.content_length, 0);
  cr_assert(r.keep_alive);
}

Test(http_parse, every_prefix_of_a_valid_head_is_incomplete_never_an_error) {
  const char *s = "POST /a/b?c=d HTTP/1.1\r\nHost: example\r\nContent-Length: 5\r\nX-Y:  z \r\n\r\n";
  for (size_t k = 0; k < strlen(s); k++) {
    http_request r;
    cr_assert_eq(http_parse_head(s, k, MAX_HEAD, MAX_BODY, &r), HTTP_INCOMPLETE, "prefix of %zu bytes", k);
  }
  http_request r;
  cr_assert_eq(parse(s, &r), HTTP_OK);
  cr_assert_eq(r.content_length, 5);
}

Test(http_parse, pipelined_heads_are_parsed_one_at_a_time) {
  const char *s = "GET / HTTP/1.1\r\n\r\nGET /two HTTP/1.1\r\n\r\n";
  http_request r;
  cr_assert_eq(parse(s, &r), HTTP_OK);
  cr_assert_eq(r.head_len, 18);
  cr_assert_eq(parse(s + r.head_len, &r), HTTP_OK);
  cr_assert_eq(r.target_len, 4);
}

Test(http_parse, leading_empty_lines_are_skipped_and_counted) {
  http_request r;
  cr_assert_eq(parse("\r\n\r\nGET / HTTP/1.1\r\n\r\n", &r), HTTP_OK);
  cr_assert_eq(r.head_len, 4 + 18);
}

Test(http_parse, keep_alive_follows_the_version_and_connection) {
  http_request r;
  cr_assert_eq(parse("GET / HTTP/1.0\r\n\r\n", &r), HTTP_OK);
  cr_assert_not(r.keep_alive);
  cr_assert_eq(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r), HTTP_OK);
  cr_assert(r.keep_alive);
  cr_assert_eq(parse("GET / HTTP/1.1\r\nconnection: upgrade, CLOSE\r\n\r\n", &r), HTTP_OK);
  cr_assert_not(r.keep_alive);
}

Test(http_parse, garbage_is_refused_before_the_head_ends) {
  http_request r;
  cr_assert_eq(http_parse_head("\x16\x03", 2, MAX_HEAD, MAX_BODY, &r), HTTP_BAD_REQUEST);
  cr_assert_eq(parse("GET  /", &r), HTTP_BAD_REQUEST);           /* two spaces: an empty target */
  cr_assert_eq(parse("GET / HTTQ", &r), HTTP_BAD_REQUEST);       /* not HTTP/1. */
  cr_assert_eq(parse("GET / HTTP/1.1\n", &r), HTTP_BAD_REQUEST); /* bare LF */
  cr_assert_eq(parse("garbage\r\n\r\n", &r), HTTP_BAD_REQUEST);
}

Test(http_parse, bad_header_lines) {
  http_request r;
  cr_assert_eq(parse("GET / HTTP/1.1\r\nNoColon\r\n\r\n", &r), HTTP_BAD_REQUEST);
  cr_assert_eq(parse("GET / HTTP/1.1\r\nName : v\r\n\r\n", &r), HTTP_BAD_REQUEST);
  cr_assert_eq(parse("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", &r), HTTP_BAD_REQUEST);
  cr_assert_eq(parse("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", &r), HTTP_BAD_REQUEST);
}

Test(http_parse, content_length_rules) {
  http_request r;
  cr_assert_eq(parse("PUT / HTTP/1.1\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n", &r), HTTP_OK);
  cr_assert_eq(r.content_length, 7);
  cr_assert_eq(parse("PUT / HTTP/1.1\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n", &r),
               HTTP_BAD_REQUEST);
  cr_assert_eq(parse("PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &r), HTTP_BAD_REQUEST);
  cr_assert_eq(parse("PUT / HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n", &r), HTTP_OK);
  cr_assert_eq(parse("PUT / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", &r), HTTP_BODY_TOO_LARGE);
  cr_assert_eq(parse("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r), HTTP_NOT_IMPLEMENTED);
}

Test(http_parse, the_head_limit) {
  static char buf[MAX_HEAD + 64];
  const char *start = "GET / HTTP/1.1\r\nX: ";
  http_request r;
  /* Exactly the limit, terminator included: fine. */
  size_t pad = MAX_HEAD - strlen(start) - 4;
  memcpy(buf, start, strlen(start));
  memset(buf + strlen(start), 'a', pad);
  memcpy(buf + strlen(start) + pad, "\r\n\r\n", 4);
  cr_assert_eq(http_parse_head(buf, MAX_HEAD, MAX_HEAD, MAX_BODY, &r), HTTP_OK);
  /* One byte more: too large, complete or not. */
  memset(buf + strlen(start), 'a', pad + 1);
  memcpy(buf + strlen(start) + pad + 1, "\r\n\r\n", 4);
  cr_assert_eq(http_parse_head(buf, MAX_HEAD + 1, MAX_HEAD, MAX_BODY, &r), HTTP_HEADERS_TOO_LARGE);
  cr_assert_eq(http_parse_head(buf, MAX_HEAD, MAX_HEAD, MAX_BODY, &r), HTTP_HEADERS_TOO_LARGE);
  cr_assert_eq(http_parse_head(buf, MAX_HEAD - 1, MAX_HEAD, MAX_BODY, &r), HTTP_INCOMPLETE);
}
