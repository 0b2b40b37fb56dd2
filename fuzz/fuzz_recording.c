/*
 * libFuzzer target: the recording reader (inspector/src/recording_read.c,
 * docs/recording-format.md) on arbitrary bytes. It must accept or refuse
 * with a message, never crash, hang or leak; and a sample it accepted must
 * then read into a snapshot of the recording's size.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "recording.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  recording *r = NULL;
  schedrt_snapshot s;
  char err[256];
  (void)rec_sniff(data, size);
  if (rec_parse(data, size, &r, err, sizeof(err)) != 0) {
    if (r != NULL || memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
      __builtin_trap(); /* a refusal always says why */
    return 0;
  }
  if (rec_snapshot_init(r, &s) == 0) {
    for (size_t i = 0; i < r->nsamples; i++)
      if (rec_sample_read(r, i, &s, NULL) != 0)
        __builtin_trap(); /* checked at load: must read */
    rec_snapshot_fini(&s);
  }
  rec_free(r);
  return 0;
}
