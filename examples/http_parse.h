/*
 * The HTTP/1.1 request head parser of schedrt-http (http_parse.c): no
 * allocation, no I/O, so it can be read and tested alone. It knows the few
 * headers the server acts on (Content-Length, Transfer-Encoding, Connection)
 * and rejects what RFC 9112 calls invalid instead of guessing.
 */
#ifndef SCHEDRT_HTTP_PARSE_H
#define SCHEDRT_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_status {
  HTTP_INCOMPLETE = 0,       /* the head is not all there yet */
  HTTP_OK = 200,             /* a head was parsed into the request */
  HTTP_BAD_REQUEST = 400,    /* garbage: answer 400 and close */
  HTTP_BODY_TOO_LARGE = 413, /* Content-Length above the limit */
  HTTP_HEADERS_TOO_LARGE = 431,
  HTTP_NOT_IMPLEMENTED = 501, /* Transfer-Encoding: a body we cannot frame */
};

typedef struct http_request {
  size_t head_len; /* bytes of the head, its empty line included */
  const char *method, *target;
  size_t method_len, target_len;
  int minor;               /* HTTP/1.minor */
  uint64_t content_length; /* 0 without the header */
  bool keep_alive;         /* the connection stays open after the response */
} http_request;

/*
 * Parses the head at the start of buf[0..len). HTTP_INCOMPLETE while it may
 * still become valid (a garbage start is rejected as soon as it is seen),
 * HTTP_HEADERS_TOO_LARGE when len reached max_head without an end,
 * HTTP_OK with *req filled, or an error status. Leading empty lines are
 * skipped (they count in head_len).
 */
enum http_status http_parse_head(const char *buf, size_t len, size_t max_head, uint64_t max_body,
                                 http_request *req);

#endif /* SCHEDRT_HTTP_PARSE_H */
