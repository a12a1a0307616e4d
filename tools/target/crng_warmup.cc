#include "crng_warmup.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>

namespace iscsi_target {

int start_crng_warmup() {
  unsigned char byte = 0;
  if (::getrandom(&byte, 1, GRND_NONBLOCK) == 1 || errno != EAGAIN) return 0;
  const pid_t child = ::fork();
  if (child != 0) return child;  // the parent does not wait: the target starts meanwhile
  // The child must not hold the caller's stdout/stderr: a hook reading them would wait for the CRNG too.
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd <= 2; ++fd) {
    if (null_fd >= 0) ::dup2(null_fd, fd);
    else ::close(fd);
  }
  while (::getrandom(&byte, 1, 0) < 0 && errno == EINTR) {
  }
  ::_exit(0);
}

}  // namespace iscsi_target
