// An LD_PRELOAD experiment for bench/serve.mjs's profile section: sets
// TCP_NODELAY on every socket that accept() or accept4() returns, to measure
// what dvs web would gain from setting it itself. Not part of dvs.
//
//   gcc -O2 -shared -fPIC -o nodelay_shim.so nodelay_shim.c -ldl
//   LD_PRELOAD=$PWD/nodelay_shim.so dvs web ...
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void SetNoDelay(int fd) {
  if (fd < 0) return;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // not TCP: fails, harmless
}

int accept(int fd, struct sockaddr* address, socklen_t* length) {
  static int (*real)(int, struct sockaddr*, socklen_t*);
  if (!real) real = (int (*)(int, struct sockaddr*, socklen_t*))dlsym(RTLD_NEXT, "accept");
  int client = real(fd, address, length);
  SetNoDelay(client);
  return client;
}

int accept4(int fd, struct sockaddr* address, socklen_t* length, int flags) {
  static int (*real)(int, struct sockaddr*, socklen_t*, int);
  if (!real) real = (int (*)(int, struct sockaddr*, socklen_t*, int))dlsym(RTLD_NEXT, "accept4");
  int client = real(fd, address, length, flags);
  SetNoDelay(client);
  return client;
}
