/*
 * Opening and validating a metrics segment. The segment is untrusted input:
 * every offset, size and count is checked against the mapped size before it
 * is used, and only validated copies are used afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "reader_internal.h"
#include "schedrt/shm_util.h"

uint64_t schedrt__reader_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *schedrt_worker_state_name(uint32_t state) {
  return state < SCHEDRT_WSTATE__COUNT ? schedrt_worker_state_names[state] : "?";
}

/* Copies a fixed-size field that may lack its NUL into dst[size+1]. */
static void copy_str(char *dst, const char *src, size_t size) {
  size_t n = 0;
  while (n < size && src[n] != '\0')
    n++;
  memcpy(dst, src, n);
  dst[n] = '\0';
  /* Keep it printable: a corrupt name must not drive a terminal. */
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)dst[i] < 0x20 || (unsigned char)dst[i] == 0x7f)
      dst[i] = '?';
}

/* The magic bytes seen so far are a prefix-in-progress of ours (or zero). */
static bool magic_pending(const unsigned char *m) {
  static const char want[8] = SCHEDRT_SHM_MAGIC;
  for (int i = 0; i < 8; i++)
    if (m[i] != 0 && m[i] != (unsigned char)want[i])
      return false;
  return memcmp(m, want, 8) != 0;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* wait_ready's verdicts besides READY and EXITING. */
#define STATE_TIMEOUT (-1)
#define STATE_UNKNOWN (-2)

/* Waits for READY/EXITING; returns the state seen, STATE_TIMEOUT, or
 * STATE_UNKNOWN for a value no writer stores (corrupt, not "not ready"). */
static int wait_ready(const struct schedrt_shm_header *h, const struct schedrt_reader *r,
                      uint32_t timeout_ms) {
  uint64_t deadline = schedrt__reader_now_ns() + (uint64_t)timeout_ms * 1000000u;
  for (;;) {
    /* Acquire pairs with the writer's release store of READY: the header,
     * bounds and descriptors written before it are visible after it. */
    uint32_t s = atomic_load_explicit((_Atomic uint32_t *)&h->state, memory_order_acquire);
    if (s == SCHEDRT_SHM_STATE_READY || s == SCHEDRT_SHM_STATE_EXITING)
      return (int)s;
    if (s != SCHEDRT_SHM_STATE_INIT)
      return STATE_UNKNOWN; /* a large value used to read as a negative "timed out" */
    if ((r->flags & SCHEDRT_READER_NO_WAIT) || schedrt__reader_now_ns() >= deadline)
      return STATE_TIMEOUT;
    sleep_ms(1); /* no signal exists across processes for this; a bounded poll */
  }
}

static int validate_descs(struct schedrt_reader *r, const struct schedrt_shm_header *h, uint32_t desc_off,
                          uint32_t desc_count, uint32_t desc_size) {
  r->descs = calloc(desc_count ? desc_count : 1, sizeof(*r->descs));
  if (!r->descs)
    return -ENOMEM;
  for (uint32_t i = 0; i < desc_count; i++) {
    struct schedrt_shm_desc d;
    memcpy(&d, (const unsigned char *)h + desc_off + (uint64_t)i * desc_size, sizeof(d));
    schedrt_reader_desc *o = &r->descs[i];
    uint64_t elem;
    if (d.region == SCHEDRT_REGION_WSLOT)
      elem = r->slot_stride;
    else if (d.region == SCHEDRT_REGION_GLOBAL)
      elem = r->global_size;
    else if (d.region == SCHEDRT_REGION_HIST)
      elem = r->hist_stride;
    else
      return SCHEDRT_ECORRUPT;
    if (d.kind > SCHEDRT_METRIC_HISTOGRAM || d.scope > SCHEDRT_SCOPE_WORKER ||
        (d.width != 4 && d.width != 8) || d.count == 0 || d.offset % d.width != 0 ||
        !schedrt__reader_fits(d.offset, d.count, d.width, elem))
      return SCHEDRT_ECORRUPT;
    if ((d.kind == SCHEDRT_METRIC_HISTOGRAM) != (d.region == SCHEDRT_REGION_HIST) ||
        (d.region == SCHEDRT_REGION_HIST && (d.count != r->hist_buckets || d.width != 8)) ||
        (d.region == SCHEDRT_REGION_GLOBAL) != (d.scope == SCHEDRT_SCOPE_GLOBAL))
      return SCHEDRT_ECORRUPT;
    copy_str(o->name, d.name, sizeof(d.name));
    copy_str(o->unit, d.unit, sizeof(d.unit));
    copy_str(o->help, d.help, sizeof(d.help));
    o->kind = (schedrt_metric_kind)d.kind;
    o->scope = (schedrt_metric_scope)d.scope;
    o->region = d.region;
    o->offset = d.offset;
    o->width = d.width;
    o->count = d.count;
    o->known = 0;
    o->known_id = -1;
    for (int k = 0; k < SCHEDRT_M__COUNT; k++) {
      const struct schedrt__metric_def *m = &schedrt__metric_defs[k];
      if (strcmp(m->pub.name, o->name) == 0 && m->region == d.region && m->offset == d.offset &&
          m->width == d.width) {
        o->known = 1;
        o->known_id = k;
      }
    }
  }
  r->ndesc = desc_count;
  return 0;
}

/* Everything after the preamble and READY: sizes, offsets, counts. */
static int validate_header(struct schedrt_reader *r, const struct schedrt_shm_header *h, uint64_t file_size,
                           uid_t file_uid) {
  uint32_t header_size = h->header_size, page = h->page_size;
  uint64_t total = h->total_size;
  if (header_size < SCHEDRT_SHM_HEADER_MIN || header_size > file_size || header_size % 8 != 0)
    return SCHEDRT_ECORRUPT;
  if (total < header_size || total > file_size || total > SCHEDRT_SHM_MAX_SIZE)
    return SCHEDRT_ECORRUPT; /* truncated, or claims more than the object holds */
  if (page < 4096u || page > (1u << 20) || (page & (page - 1u)) != 0)
    return SCHEDRT_ECORRUPT;
  r->total_size = total;
  r->slot_off = h->slot_off;
  r->slot_stride = h->slot_stride;
  r->max_workers = h->max_workers;
  if (r->max_workers == 0 || r->max_workers > SCHEDRT_SHM_MAX_WORKERS)
    return SCHEDRT_ECORRUPT;
  /* The fields this build reads must lie inside a slot (the whole 2.0 slot). */
  if (r->slot_stride < SCHEDRT_SHM_SLOT_MIN || r->slot_stride % SCHEDRT_SHM_ALIGN != 0 ||
      r->slot_off < header_size || r->slot_off % SCHEDRT_SHM_ALIGN != 0 ||
      !schedrt__reader_fits(r->slot_off, r->max_workers, r->slot_stride, total))
    return SCHEDRT_ECORRUPT;
  r->global_off = h->global_off;
  r->global_size = h->global_size;
  if (r->global_size < offsetof(struct schedrt_shm_global, resv) || r->global_off < header_size ||
      r->global_off % 8 != 0 || !schedrt__reader_fits(r->global_off, 1, r->global_size, total))
    return SCHEDRT_ECORRUPT;
  r->hist_off = h->hist_off;
  r->hist_stride = h->hist_stride;
  r->hist_spacing = h->hist_spacing;
  r->hist_per_worker = h->hist_per_worker;
  r->hist_buckets = h->hist_buckets;
  uint32_t bounds_off = h->hist_bounds_off;
  if (r->hist_buckets == 0 || r->hist_buckets > SCHEDRT_SHM_MAX_BUCKETS || r->hist_per_worker > 16 ||
      r->hist_spacing % 8 != 0 || r->hist_stride % 8 != 0 || r->hist_spacing < r->hist_buckets * 8u ||
      r->hist_off % 8 != 0 || r->hist_off < header_size ||
      (uint64_t)r->hist_per_worker * r->hist_spacing > r->hist_stride ||
      !schedrt__reader_fits(r->hist_off, r->max_workers, r->hist_stride, total) || bounds_off % 8 != 0 ||
      bounds_off < header_size || !schedrt__reader_fits(bounds_off, r->hist_buckets, 8, total))
    return SCHEDRT_ECORRUPT;
  const uint64_t *bounds = (const uint64_t *)(const void *)((const unsigned char *)h + bounds_off);
  for (uint32_t i = 0; i < r->hist_buckets; i++) {
    r->info.hist_upper_ns[i] = bounds[i];
    if (i > 0 && bounds[i] <= bounds[i - 1])
      return SCHEDRT_ECORRUPT;
  }
  r->info.hist_buckets = r->hist_buckets;
  uint32_t ctl_off = h->ctl_off, ctl_size = h->ctl_size;
  if (ctl_off % page != 0 || ctl_off < header_size || !schedrt__reader_fits(ctl_off, 1, ctl_size, total))
    return SCHEDRT_ECORRUPT;
  uint32_t desc_off = h->desc_off, desc_count = h->desc_count, desc_size = h->desc_size;
  if (desc_size < SCHEDRT_SHM_DESC_SIZE || desc_size % 8 != 0 || desc_count > SCHEDRT_SHM_MAX_DESCS ||
      desc_off % 8 != 0 || desc_off < header_size ||
      !schedrt__reader_fits(desc_off, desc_count, desc_size, total))
    return SCHEDRT_ECORRUPT;
  uint32_t period = h->heartbeat_period_ms;
  if (period == 0 || period > 3600u * 1000u)
    return SCHEDRT_ECORRUPT;
  if (h->uid != (uint32_t)file_uid)
    return SCHEDRT_EOWNER; /* the header claims another owner than the file has */

  schedrt_segment_info *in = &r->info;
  in->layout_major = h->layout_major;
  in->layout_minor = h->layout_minor;
  in->pid = h->pid;
  in->uid = h->uid;
  in->runtime_index = h->runtime_index;
  in->starttime = h->starttime;
  in->total_size = total;
  in->features = h->features;
  in->max_workers = r->max_workers;
  in->heartbeat_period_ms = period;
  in->create_realtime_ns = h->create_realtime_ns;
  in->create_mono_ns = h->create_mono_ns;
  memcpy(in->boot_id, h->boot_id, 16);
  memcpy(in->instance_id, h->instance_id, 16);
  copy_str(in->runtime_name, h->runtime_name, sizeof(h->runtime_name));
  copy_str(in->runtime_version, h->runtime_version, sizeof(h->runtime_version));
  copy_str(in->comm, h->comm, sizeof(h->comm));
  copy_str(in->saved_dir, h->saved_dir, sizeof(h->saved_dir));
  /* A path must be absolute to mean anything to another process. */
  if (in->saved_dir[0] != '/' || strlen(in->saved_dir) >= sizeof(h->saved_dir))
    in->saved_dir[0] = '\0';
  /* Acquire: a count after the file it counts was linked. */
  in->saved_dumps = atomic_load_explicit((_Atomic uint32_t *)&h->saved_dumps, memory_order_acquire);
  in->local_queue_cap = h->local_queue_cap;
  in->maintenance_interval = h->maintenance_interval;
  /* 2.4 fields, zero in older writers' headers (they were reserved); a
   * watch period without a threshold, or the reverse, means nothing. */
  bool lp = header_size >= offsetof(struct schedrt_shm_header, long_poll_watch_us) + 4u;
  in->long_poll_ms = lp ? h->long_poll_ms : 0u;
  in->long_poll_watch_us = lp ? h->long_poll_watch_us : 0u;
  if (in->long_poll_ms == 0 || in->long_poll_watch_us == 0)
    in->long_poll_ms = in->long_poll_watch_us = 0;
  in->ctl_off = ctl_off;
  in->ctl_size = ctl_size;
  int rc = schedrt__reader_sites_open(r, h, header_size);
  if (!rc)
    rc = schedrt__reader_events_open(r, h, header_size);
  return rc ? rc : validate_descs(r, h, desc_off, desc_count, desc_size);
}

/* Byte order and major version: the parts of the frozen preamble after the magic. */
static int check_preamble(struct schedrt_reader *r, const struct schedrt_shm_header *h) {
  uint32_t bo = h->byte_order;
  if (bo != SCHEDRT_SHM_BYTE_ORDER)
    return bo == __builtin_bswap32(SCHEDRT_SHM_BYTE_ORDER) ? SCHEDRT_EVERSION : SCHEDRT_ECORRUPT;
  r->info.layout_major = h->layout_major;
  r->info.layout_minor = h->layout_minor;
  return h->layout_major == SCHEDRT_SHM_MAJOR ? 0 : SCHEDRT_EVERSION;
}

static int check_file(const struct stat *st, const char *base_name) {
  uid_t me = geteuid();
  struct schedrt__shm_name nm;
  if (!S_ISREG(st->st_mode))
    return SCHEDRT_ENOTSEG; /* a FIFO, socket, device or directory planted under our name */
  /* Root may read another user's segment, but only one that user's live
   * process made: schedrt_reader_open_path checks the process's owner too. */
  if (st->st_uid != me && me != 0)
    return SCHEDRT_EOWNER;
  if ((st->st_mode & 077) != 0 || st->st_nlink != 1)
    return SCHEDRT_EOWNER; /* readable by others, or a hard link to someone's file */
  if (schedrt__shm_name_parse(base_name, &nm) == 0 && nm.uid != (uint32_t)st->st_uid)
    return SCHEDRT_EOWNER; /* the name claims another uid than the owner's */
  return 0;
}

/* What check_mapping needs. */
struct open_args {
  struct schedrt_reader *r;
  const struct stat *st;
  uint32_t timeout_ms;
};

/* The checks that read the mapping: magic, preamble, READY, header. */
static int check_mapping(void *arg) {
  struct open_args *oa = arg;
  struct schedrt_reader *r = oa->r;
  const struct schedrt_shm_header *h = (const struct schedrt_shm_header *)r->base;
  const unsigned char *magic = r->base;
  int rc;
  if (memcmp(magic, SCHEDRT_SHM_MAGIC, 8) != 0 && !magic_pending(magic))
    return SCHEDRT_EMAGIC;
  if (r->map_size < SCHEDRT_SHM_HEADER_MIN)
    return SCHEDRT_ECORRUPT; /* truncated inside the header (which covers state) */
  /* The frozen preamble first, so a foreign or future segment fails fast. */
  if (memcmp(magic, SCHEDRT_SHM_MAGIC, 8) == 0 && (rc = check_preamble(r, h)) != 0)
    return rc;
  int state = wait_ready(h, r, oa->timeout_ms);
  if (memcmp(magic, SCHEDRT_SHM_MAGIC, 8) != 0)
    return magic_pending(magic) ? SCHEDRT_ENOTREADY : SCHEDRT_EMAGIC;
  if ((rc = check_preamble(r, h)) != 0)
    return rc;
  if (state == STATE_TIMEOUT)
    return SCHEDRT_ENOTREADY;
  if (state != SCHEDRT_SHM_STATE_READY && state != SCHEDRT_SHM_STATE_EXITING)
    return SCHEDRT_ECORRUPT; /* a state no writer stores */
  return validate_header(r, h, (uint64_t)oa->st->st_size, oa->st->st_uid);
}

/*
 * The third party to the uid check: the process the segment names. While it
 * lives (same pid and start time), its effective uid must be the object's
 * owner, so no other user can pass a segment off as another user's process,
 * root's included (docs/security.md, "planted segments"). A process that is
 * gone has no owner to ask; its segment is a post-mortem picture.
 */
static int check_process_owner(const schedrt_segment_info *in, uid_t file_uid) {
  uint64_t st;
  uint32_t euid;
  if (in->pid == 0 || in->pid > (uint32_t)INT32_MAX)
    return 0;
  if (schedrt__proc_starttime((pid_t)in->pid, &st) != 0 || st != in->starttime)
    return 0; /* gone, reused, or in another pid namespace */
  if (schedrt__proc_euid((pid_t)in->pid, &euid) != 0)
    return 0; /* exited between the two reads */
  return euid == (uint32_t)file_uid ? 0 : SCHEDRT_EOWNER;
}

int schedrt_reader_open_path(const char *path, const schedrt_reader_opts *opts, schedrt_reader **out) {
  struct schedrt_reader *r = NULL;
  struct stat st;
  int rc;
  if (!path || !out)
    return -EINVAL;
  *out = NULL;
  const char *base_name = strrchr(path, '/');
  base_name = base_name ? base_name + 1 : path;
  r = calloc(1, sizeof(*r));
  if (!r)
    return -ENOMEM;
  r->fd = -1;
  r->flags = opts ? opts->flags : 0;
  r->max_retries = (opts && opts->max_retries) ? opts->max_retries : SCHEDRT_READER_DEFAULT_RETRIES;
  uint32_t timeout_ms =
      (opts && opts->ready_timeout_ms) ? opts->ready_timeout_ms : SCHEDRT_READER_DEFAULT_TIMEOUT_MS;
  if (strlen(path) >= sizeof(r->info.path) || strlen(base_name) >= sizeof(r->info.name)) {
    rc = -ENAMETOOLONG;
    goto err;
  }
  strcpy(r->info.path, path);
  strcpy(r->info.name, base_name);

  /* O_NOFOLLOW: a symlink is refused (ELOOP), never followed; O_NONBLOCK:
   * opening a planted FIFO must not hang us. */
  r->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (r->fd < 0) {
    /* ENXIO is what open() says for a unix socket: not a segment, and the
     * bare errno text ("No such device or address") would not say so. */
    rc = errno == ENXIO ? SCHEDRT_ENOTSEG : -errno;
    goto err;
  }
  if (fstat(r->fd, &st) != 0) {
    rc = -errno;
    goto err;
  }
  if ((rc = check_file(&st, base_name)) != 0)
    goto err;
  r->dev = st.st_dev;
  r->ino = st.st_ino;
  /* Size 0: created, not yet sized by posix_fallocate (the writer's step 5);
   * wait for it like for READY. */
  for (uint64_t until = schedrt__reader_now_ns() + (uint64_t)timeout_ms * 1000000u; st.st_size == 0;) {
    if ((r->flags & SCHEDRT_READER_NO_WAIT) || schedrt__reader_now_ns() >= until) {
      rc = SCHEDRT_ENOTREADY;
      goto err;
    }
    sleep_ms(1);
    if (fstat(r->fd, &st) != 0) {
      rc = -errno;
      goto err;
    }
  }
  if (st.st_size < 16 || (uint64_t)st.st_size > SCHEDRT_SHM_MAX_SIZE) {
    rc = SCHEDRT_ECORRUPT; /* too small for the preamble, or absurdly large */
    goto err;
  }
  r->map_size = (size_t)st.st_size;
  void *m = mmap(NULL, r->map_size, PROT_READ, MAP_SHARED, r->fd, 0);
  if (m == MAP_FAILED) {
    rc = -errno;
    goto err;
  }
  r->base = m;
  struct open_args a = {.r = r, .st = &st, .timeout_ms = timeout_ms};
  /* Every read of the mapping under the SIGBUS guard: the owner may
   * truncate the file while we validate it. */
  if ((rc = schedrt__reader_guarded(check_mapping, &a)) != 0)
    goto err;
  {
    struct schedrt__shm_name nm;
    if (schedrt__shm_name_parse(base_name, &nm) == 0 &&
        (nm.pid != r->info.pid || nm.starttime != r->info.starttime)) {
      rc = SCHEDRT_ECORRUPT; /* the name and the header describe different processes */
      goto err;
    }
  }
  if ((rc = check_process_owner(&r->info, st.st_uid)) != 0)
    goto err;
  r->proc_verdict = SCHEDRT_LIVENESS_UNKNOWN;
  if (!(r->flags & SCHEDRT_READER_NO_LIVENESS))
    r->proc_verdict = schedrt__reader_proc_liveness(r);
  *out = r;
  return 0;
err:
  schedrt_reader_close(r);
  return rc;
}

void schedrt_reader_close(schedrt_reader *r) {
  if (!r)
    return;
  if (r->base)
    munmap((void *)r->base, r->map_size);
  if (r->fd >= 0)
    close(r->fd);
  free(r->descs);
  free(r);
}

int schedrt_reader_open_name(const char *name, const schedrt_reader_opts *opts, schedrt_reader **out) {
  char path[512];
  if (!name || !out)
    return -EINVAL;
  if (name[0] == '/')
    name++;
  if (name[0] == '\0' || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return -EINVAL;
  const char *dir = (opts && opts->shm_dir) ? opts->shm_dir : SCHEDRT_READER_SHM_DIR;
  int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= sizeof(path))
    return -ENAMETOOLONG;
  return schedrt_reader_open_path(path, opts, out);
}

/* Is cand newer than best? Higher start time first, then higher index. */
static bool newer(const struct schedrt__shm_name *cand, const struct schedrt__shm_name *best) {
  if (cand->starttime != best->starttime)
    return cand->starttime > best->starttime;
  return cand->index > best->index;
}

/* The search of schedrt_reader_open_pid: the newest segment of one process. */
struct pid_search {
  uint32_t pid;
  uint32_t uid; /* the only uid a name may carry: the live process's owner, else ours */
  bool alive;
  uint64_t starttime; /* the live process's, when alive */
  struct schedrt__shm_name best;
  char best_name[SCHEDRT_SHM_NAME_MAX];
  /* The newest name that is not a regular file of that uid: opened only if
   * there is no other, so that its error (ELOOP, ENOTSEG, EOWNER) is said. */
  struct schedrt__shm_name odd;
  char odd_name[SCHEDRT_SHM_NAME_MAX];
};

static int consider(int dirfd, const char *name, const struct schedrt__shm_name *nm, void *ctx) {
  struct pid_search *s = ctx;
  /* One uid only, root included: a name another user planted for this pid
   * (a higher <n>, say) is never a candidate. */
  if (nm->is_dump || nm->pid != s->pid || nm->uid != s->uid)
    return 0;
  if (s->alive && nm->starttime != s->starttime)
    return 0; /* an older process that had this pid */
  /* Owner and type before choosing: a FIFO or file another user planted
   * under the right uid and a higher <n> must not shadow the real segment
   * (open_path refuses it anyway, but then the real one would not be used). */
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
      st.st_uid != (uid_t)s->uid) {
    if (s->odd_name[0] == '\0' || newer(nm, &s->odd)) {
      s->odd = *nm;
      snprintf(s->odd_name, sizeof(s->odd_name), "%s", name);
    }
    return 0;
  }
  if (s->best_name[0] == '\0' || newer(nm, &s->best)) {
    s->best = *nm;
    snprintf(s->best_name, sizeof(s->best_name), "%s", name);
  }
  return 0;
}

int schedrt_reader_open_pid(pid_t pid, const schedrt_reader_opts *opts, schedrt_reader **out) {
  const char *dir = (opts && opts->shm_dir) ? opts->shm_dir : SCHEDRT_READER_SHM_DIR;
  struct pid_search s = {.pid = (uint32_t)pid, .uid = (uint32_t)geteuid()};
  uint32_t owner;
  if (!out || pid <= 0)
    return -EINVAL;
  *out = NULL;
  s.alive = schedrt__proc_starttime(pid, &s.starttime) == 0;
  if (s.alive && schedrt__proc_euid(pid, &owner) == 0) {
    /* Another user's process: only root may read it, and only its owner's names. */
    if (owner != s.uid && s.uid != 0)
      return SCHEDRT_EOWNER;
    s.uid = owner;
  }
  int rc = schedrt__shm_scan(dir, consider, &s);
  if (rc)
    return rc;
  if (s.best_name[0] == '\0' && s.odd_name[0] != '\0')
    return schedrt_reader_open_name(s.odd_name, opts, out);
  if (s.best_name[0] == '\0')
    return s.alive ? -ENOENT : -ESRCH;
  return schedrt_reader_open_name(s.best_name, opts, out);
}

const schedrt_segment_info *schedrt_reader_info(const schedrt_reader *r) { return &r->info; }

size_t schedrt_reader_desc_count(const schedrt_reader *r) { return r->ndesc; }

const schedrt_reader_desc *schedrt_reader_desc_at(const schedrt_reader *r, size_t i) {
  return i < r->ndesc ? &r->descs[i] : NULL;
}
