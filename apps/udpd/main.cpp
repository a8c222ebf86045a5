// bypass-udpd: the UDP server (bypass/udpd/udpd_main.hpp) with the built-in
// handlers and modules only.
#include <bypass/udpd/udpd_main.hpp>

int main(int argc, char** argv) {
  return bypass::udpd_main(argc, argv);
}
