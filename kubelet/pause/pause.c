/*
 * kite-pause: the "infrastructure" process of a pod sandbox.
 *
 * It is PID 1 of the pod's PID namespace and only exists to hold the pod's
 * namespaces open.  So it must:
 *   - sleep forever without using CPU (pause()),
 *   - exit 0 on SIGINT/SIGTERM so the runtime can stop the sandbox quickly
 *     (PID 1 ignores signals that have no handler, so we need handlers),
 *   - reap zombies on SIGCHLD: orphans in a shared PID namespace are
 *     re-parented to PID 1, and nobody else would wait() for them.
 *
 * Built statically so the image needs nothing but this one file.
 */
/* sigaction() & co. are POSIX, not ISO C: ask for them explicitly so this
 * also builds with -std=c11 (no GNU extensions). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_terminate(int sig) {
  (void)sig;
  _exit(0); /* async-signal-safe, unlike exit() */
}

static void on_child(int sig) {
  int saved_errno = errno;
  (void)sig;
  /* Several children may exit before we run: reap all that are ready. */
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved_errno;
}

static int install(int sig, void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  /* SA_NOCLDSTOP: stopped children are not our business. */
  sa.sa_flags = SA_RESTART | (sig == SIGCHLD ? SA_NOCLDSTOP : 0);
  return sigaction(sig, &sa, NULL);
}

int main(int argc, char** argv) {
  if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    puts("kite-pause 1.0");
    return 0;
  }
  if (getpid() != 1) fputs("kite-pause: warning: not running as PID 1\n", stderr);

  if (install(SIGINT, on_terminate) < 0 || install(SIGTERM, on_terminate) < 0 ||
      install(SIGCHLD, on_child) < 0) {
    perror("kite-pause: sigaction");
    return 1;
  }

  for (;;) pause(); /* returns after each handled signal; just wait again */
}
