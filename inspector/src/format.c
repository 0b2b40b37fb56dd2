/* Number formatting and widget geometry (see format.h). */
#include "format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_US 1000ull
#define NS_MS 1000000ull
#define NS_S 1000000000ull

char *fmt_duration(char *buf, size_t size, uint64_t ns) {
  if (ns < NS_US)
    snprintf(buf, size, "%lluns", (unsigned long long)ns);
  else if (ns < 10 * NS_US)
    snprintf(buf, size, "%.2fus", (double)ns / NS_US);
  else if (ns < NS_MS)
    snprintf(buf, size, "%.1fus", (double)ns / NS_US);
  else if (ns < 10 * NS_MS)
    snprintf(buf, size, "%.2fms", (double)ns / NS_MS);
  else if (ns < NS_S)
    snprintf(buf, size, "%.1fms", (double)ns / NS_MS);
  else if (ns < 60 * NS_S)
    snprintf(buf, size, "%.2fs", (double)ns / NS_S);
  else {
    uint64_t s = ns / NS_S;
    if (s < 3600)
      snprintf(buf, size, "%llum%02llus", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
    else if (s < 86400)
      snprintf(buf, size, "%lluh%02llum", (unsigned long long)(s / 3600),
               (unsigned long long)(s % 3600 / 60));
    else
      snprintf(buf, size, "%llud%02lluh", (unsigned long long)(s / 86400),
               (unsigned long long)(s % 86400 / 3600));
  }
  return buf;
}

char *fmt_uptime(char *buf, size_t size, uint64_t ns) {
  unsigned long long s = ns / NS_S;
  if (s >= 86400)
    snprintf(buf, size, "%llud %02llu:%02llu:%02llu", s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
  else
    snprintf(buf, size, "%02llu:%02llu:%02llu", s / 3600, s % 3600 / 60, s % 60);
  return buf;
}

char *fmt_si(char *buf, size_t size, double v) {
  static const char units[] = {'k', 'M', 'G', 'T', 'P'};
  if (isnan(v)) {
    snprintf(buf, size, "-");
    return buf;
  }
  if (v < 0)
    v = 0;
  if (v < 9.95 && v != floor(v))
    snprintf(buf, size, "%.1f", v);
  else if (v < 999.5)
    snprintf(buf, size, "%.0f", v);
  else {
    int u = -1;
    /* Divide first, then choose the precision, so 999.96k becomes "1.0M" and not "1000k". */
    while (v >= 999.5 && u < (int)sizeof(units) - 1) {
      v /= 1000.0;
      u++;
    }
    if (v < 9.95)
      snprintf(buf, size, "%.1f%c", v, units[u]);
    else
      snprintf(buf, size, "%.0f%c", v, units[u]);
  }
  return buf;
}

/* Local time of realtime_ns in strftime format fmt, or fallback. */
static char *fmt_local(char *buf, size_t size, uint64_t realtime_ns, const char *fmt, const char *fallback) {
  time_t t = (time_t)(realtime_ns / NS_S);
  struct tm tm;
  if (!localtime_r(&t, &tm) || strftime(buf, size, fmt, &tm) == 0)
    snprintf(buf, size, "%s", fallback);
  return buf;
}

char *fmt_clock(char *buf, size_t size, uint64_t realtime_ns) {
  return fmt_local(buf, size, realtime_ns, "%H:%M:%S", "?");
}

char *fmt_datetime(char *buf, size_t size, uint64_t realtime_ns) {
  return fmt_local(buf, size, realtime_ns, "%Y-%m-%d %H:%M:%S", "?");
}

char *fmt_stamp(char *buf, size_t size, uint64_t realtime_ns) {
  return fmt_local(buf, size, realtime_ns, "%Y%m%d-%H%M%S", "0");
}

size_t fmt_cols(const char *s) {
  size_t c = 0;
  for (; *s; s++)
    c += ((unsigned char)*s & 0xC0) != 0x80;
  return c;
}

static int text_cols(const char *s) { return (int)fmt_cols(s); }

int fmt_wrap_next(const char **p, int width, char *line, size_t size) {
  const char *s = *p;
  if (!*s) {
    *p = s;
    if (size)
      line[0] = '\0';
    return 0;
  }
  /* end: where the line stops if cut at width; brk: after the last word that fits whole. */
  const char *end = s, *brk = NULL;
  int cols = 0;
  while (*end && cols < width) {
    end++;
    while (((unsigned char)*end & 0xC0) == 0x80)
      end++;
    cols++;
    if (*end == ' ' || !*end)
      brk = end;
  }
  if (*end && *end != ' ' && brk)
    end = brk; /* a word would be cut: break before it */
  size_t n = (size_t)(end - s);
  if (size) {
    if (n >= size)
      n = size - 1;
    memcpy(line, s, n);
    line[n] = '\0';
    while (n > 0 && line[n - 1] == ' ')
      line[--n] = '\0';
  }
  while (*end == ' ')
    end++;
  *p = end;
  return 1;
}

int fmt_wrap_count(const char *text, int width) {
  int n = 0;
  const char *p = text;
  while (fmt_wrap_next(&p, width, NULL, 0))
    n++;
  return n;
}

/* The end of s that is its last cols characters. */
static const char *last_cols(const char *s, int cols) {
  for (int extra = text_cols(s) - cols; extra > 0 && *s; extra--) {
    s++;
    while (((unsigned char)*s & 0xC0) == 0x80)
      s++;
  }
  return s;
}

char *fmt_site(char *buf, size_t size, const char *file, uint64_t line, int width, int utf8) {
  const char *ell = utf8 ? "\u2026" : "...";
  int ell_cols = utf8 ? 1 : 3;
  char tail[24];
  if (!file || !*file)
    file = "?";
  snprintf(tail, sizeof(tail), ":%llu", (unsigned long long)line);
  int room = width - (int)strlen(tail); /* columns left for the path */
  if (width <= 0 || text_cols(file) <= room) {
    snprintf(buf, size, "%s%s", file, tail);
    return buf;
  }
  const char *base = strrchr(file, '/');
  base = base ? base + 1 : file;
  /* Directories tell files of the same name apart: keep as many of the last ones as fit. The last
   * slash is left out, since "…/file.c" says no more than "file.c". */
  for (const char *p = strchr(file, '/'); p && p + 1 < base; p = strchr(p + 1, '/')) {
    if (ell_cols + text_cols(p) <= room) {
      snprintf(buf, size, "%s%s%s", ell, p, tail);
      return buf;
    }
  }
  if (text_cols(base) <= room)
    snprintf(buf, size, "%s%s", base, tail);
  else if (room > ell_cols)
    snprintf(buf, size, "%s%s%s", ell, last_cols(base, room - ell_cols), tail);
  else
    snprintf(buf, size, "%s", last_cols(tail, width));
  return buf;
}

unsigned bar_cells(uint64_t value, uint64_t cap, unsigned width) {
  if (value == 0 || width == 0)
    return 0;
  if (cap == 0 || value >= cap)
    return width;
  uint64_t cells = (value * width + cap - 1) / cap; /* round up: one task is visible */
  return cells > width ? width : (unsigned)cells;
}

void spark_levels(const uint32_t *values, size_t n, uint32_t floor_max, uint8_t *levels) {
  uint32_t max = floor_max ? floor_max : 1;
  for (size_t i = 0; i < n; i++)
    if (values[i] > max)
      max = values[i];
  for (size_t i = 0; i < n; i++) {
    if (values[i] == 0) {
      levels[i] = 0;
      continue;
    }
    uint64_t l = ((uint64_t)values[i] * SPARK_LEVELS + max - 1) / max;
    levels[i] = (uint8_t)(l < 1 ? 1 : l > SPARK_LEVELS ? SPARK_LEVELS : l);
  }
}

const char *spark_glyph(uint8_t level, int utf8) {
  static const char *const blocks[] = {" ",      "\u2581", "\u2582", "\u2583", "\u2584",
                                       "\u2585", "\u2586", "\u2587", "\u2588"};
  static const char *const ascii[] = {" ", "_", ".", "-", "=", "+", "*", "#", "@"};
  if (level > SPARK_LEVELS)
    level = SPARK_LEVELS;
  return utf8 ? blocks[level] : ascii[level];
}

/* The length of the valid UTF-8 sequence at p (1..4), or 0. */
static size_t utf8_len(const unsigned char *p) {
  unsigned c = p[0];
  size_t n;
  unsigned cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1fu;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0fu;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07u;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0u) != 0x80u)
      return 0; /* also stops at the NUL */
    cp = (cp << 6) | (p[i] & 0x3fu);
  }
  /* Overlong forms, surrogates and past U+10FFFF are not text. */
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

char *fmt_escape(char *buf, size_t size, const char *src) {
  const unsigned char *p = (const unsigned char *)src;
  size_t o = 0;
  if (size == 0)
    return buf;
  while (*p) {
    size_t n = utf8_len(p);
    /* U+0080..U+009F are C1 controls even when well encoded (0xc2 0x80..0x9f). */
    int control = n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)) || (n == 2 && p[0] == 0xc2 && p[1] < 0xa0);
    size_t take = n ? n : 1;
    if (control) {
      for (size_t i = 0; i < take; i++) {
        if (o + 4 >= size)
          goto done;
        snprintf(buf + o, size - o, "\\x%02x", p[i]);
        o += 4;
      }
    } else {
      if (o + take >= size)
        goto done;
      memcpy(buf + o, p, take);
      o += take;
    }
    p += take;
  }
done:
  buf[o] = '\0';
  return buf;
}
