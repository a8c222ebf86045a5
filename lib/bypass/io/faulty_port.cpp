#include <bypass/io/faulty_port.hpp>
