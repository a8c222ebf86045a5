// Runs the tests of chosen source files out of a program that holds many.
// tests/meson.build links the unit tests into one program and the integration
// tests into another (compiled a few files at a time, they build in a third
// of the time); each meson test runs that program with --source=FILE for
// each file of its own.
#pragma once

#include <string>

namespace bypass::test {

// Takes every --source=FILE out of argv and, when there was one, narrows
// GoogleTest's filter to the tests defined in those files that also match a
// --gtest_filter given with them. Call it after testing::InitGoogleTest.
// Returns "" or a sentence saying which file holds no tests.
std::string select_sources(int& argc, char** argv);

// GoogleTest's filter syntax ("A*:B.c-D.*"): does "Suite.Name" match it?
bool matches_filter(const std::string& filter, const std::string& name);

}  // namespace bypass::test
