// Runs the tests of chosen source files out of a program that holds many.
// tests/meson.build links most unit tests that start DPDK into one program
// and the integration tests into another (compiled eight files at a time,
// they build in a third of the time); each meson test runs that program with
// --source=FILE for each file of its own.
#pragma once

#include <string>

namespace bypass::test {

// Takes the selection flags out of argv and, when there was one, narrows
// GoogleTest's filter to the cases they select that also match a
// --gtest_filter given with them. Call it after testing::InitGoogleTest.
//   --source=FILE    the cases defined in FILE (a path ending in it);
//   --cases=PATTERN  the cases whose Suite.Name matches (GoogleTest records a
//                    suite written in a header, TYPED_TEST_P, as the header's;
//                    the file that instantiates it names it this way);
//   --every-case     runs nothing (the program starts no EAL), and fails
//                    unless the other flags select every case of the program
//                    (tests/meson.build gives it every test's flags: every
//                    case is run by some test).
// Any other "--" flag is an error: GoogleTest has taken its own by then.
struct Selection {
  std::string error;        // "" or a sentence saying what to change
  bool check_only = false;  // --every-case passed its check: run nothing
};
Selection select_sources(int& argc, char** argv);

// GoogleTest's filter syntax ("A*:B.c-D.*"): does "Suite.Name" match it?
bool matches_filter(const std::string& filter, const std::string& name);

}  // namespace bypass::test
