/*
 * The segments this process has published, so that none outlives it: an
 * atexit handler unlinks what a program forgot to destroy, and a forked child
 * lets go of its parent's liveness tokens. (SIGKILL leaves the segment behind:
 * the next runtime start sweeps it, shm_sweep.c.)
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/* Segments of this process still registered: unlinked at exit. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct schedrt__metrics *reg_head;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;

static void reg_atexit(void) {
  pthread_mutex_lock(&reg_lock);
  for (struct schedrt__metrics *m = reg_head; m; m = m->reg_next)
    /* A forked child inherits the list but must never unlink its parent's. */
    if (m->owner_pid == (uint32_t)getpid())
      shm_unlink(m->name);
  pthread_mutex_unlock(&reg_lock);
}

static void reg_prepare(void) { pthread_mutex_lock(&reg_lock); }
static void reg_parent(void) { pthread_mutex_unlock(&reg_lock); }
static void reg_child(void) {
  /* The child shares the open file description, hence the flock: close our
   * reference so that a child outliving its parent does not keep a dead
   * parent's segment looking alive. The mapping was not inherited
   * (MADV_DONTFORK): it would hold the description too. */
  for (struct schedrt__metrics *m = reg_head; m; m = m->reg_next) {
    if (m->fd >= 0)
      close(m->fd);
    m->fd = -1;
  }
  pthread_mutex_unlock(&reg_lock);
}

static void reg_init(void) {
  atexit(reg_atexit);
  pthread_atfork(reg_prepare, reg_parent, reg_child);
}

void schedrt__mreg_add(struct schedrt__metrics *m) {
  pthread_once(&reg_once, reg_init);
  pthread_mutex_lock(&reg_lock);
  m->reg_prev = NULL;
  m->reg_next = reg_head;
  if (reg_head)
    reg_head->reg_prev = m;
  reg_head = m;
  m->registered = true;
  pthread_mutex_unlock(&reg_lock);
}

void schedrt__mreg_remove(struct schedrt__metrics *m) {
  if (!m->registered)
    return;
  pthread_mutex_lock(&reg_lock);
  if (m->reg_prev)
    m->reg_prev->reg_next = m->reg_next;
  else
    reg_head = m->reg_next;
  if (m->reg_next)
    m->reg_next->reg_prev = m->reg_prev;
  m->registered = false;
  pthread_mutex_unlock(&reg_lock);
}
