// Google Benchmark start-up for our benchmarks: the defaults they run with
// (repetitions, aggregates only, minimum time), then the command line, whose
// flags come later and so win. False if a flag is not known.
#pragma once

#include <benchmark/benchmark.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace bypass::bench {

inline bool init_benchmark(int argc, char** argv, std::initializer_list<const char*> defaults) {
  static std::vector<std::string> args;  // Google Benchmark keeps pointers into argv
  args.assign({argv[0]});
  args.insert(args.end(), defaults.begin(), defaults.end());
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  static std::vector<char*> av;
  av.clear();
  for (auto& s : args) av.push_back(s.data());
  av.push_back(nullptr);
  int ac = static_cast<int>(args.size());
  benchmark::Initialize(&ac, av.data());
  return !benchmark::ReportUnrecognizedArguments(ac, av.data());
}

}  // namespace bypass::bench
