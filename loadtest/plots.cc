#include "loadtest/plots.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace glaserve::loadtest {

namespace {

absl::Status WriteText(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

std::string BucketData(const std::vector<ItlBucket>& buckets) {
  std::string data = "# x_mid mean_ms p50_ms p99_ms gaps\n";
  for (const ItlBucket& b : buckets) {
    absl::StrAppendFormat(&data, "%.1f %.6f %.6f %.6f %d\n", (b.x_min + b.x_max) / 2.0, b.itl_seconds.mean * 1000,
                          b.itl_seconds.p50 * 1000, b.itl_seconds.p99 * 1000, b.itl_seconds.count);
  }
  return data;
}

// x spanning more than 16x (1K..128K prompts) is drawn on a log scale; a single x gets a
// range around it (gnuplot refuses an empty one).
std::string XAxis(const std::vector<ItlBucket>& buckets) {
  if (buckets.empty()) return "";
  const double x_min = buckets.front().x_min, x_max = buckets.back().x_max;
  if (x_min == x_max) return absl::StrFormat("set xrange [%g:%g]\n", x_min * 0.5, x_min * 1.5 + 1);
  return x_min > 0 && x_max > 16 * x_min ? "set logscale x 2\n" : "";
}

std::string ItlScript(const std::string& data, const std::string& png, const std::string& title,
                      const std::string& x_label, const std::vector<ItlBucket>& buckets) {
  return absl::StrCat(
      "set terminal pngcairo size 900,540\nset output '", png, "'\nset title '", title, "'\nset xlabel '", x_label,
      "'\n", XAxis(buckets), "set ylabel 'inter-token latency (ms)'\nset yrange [0:*]\nset grid\nset key top left\n",
      "plot '", data, "' using 1:2 with linespoints title 'mean', '", data,
      "' using 1:3 with linespoints title 'p50', '", data, "' using 1:4 with linespoints title 'p99'\n");
}

}  // namespace

absl::Status WritePlots(const std::string& dir, const std::vector<Report>& levels, const Report& total) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  const std::filesystem::path d(dir);

  // Latency against load: x is each level's concurrency or requested rate.
  const bool open_loop = !levels.empty() && levels.front().open_loop;
  std::string load_data = "# load ttft_p50_ms ttft_p99_ms itl_p50_ms itl_p99_ms tpot_p50_ms output_tok_per_s\n";
  double load_min = 0, load_max = 0;
  for (const Report& r : levels) {
    const double load = r.open_loop ? r.requested_rate : static_cast<double>(r.concurrency);
    load_min = load_min == 0 ? load : std::min(load_min, load);
    load_max = std::max(load_max, load);
    absl::StrAppendFormat(&load_data, "%g %.6f %.6f %.6f %.6f %.6f %.3f\n", load, r.ttft_seconds.p50 * 1000,
                          r.ttft_seconds.p99 * 1000, r.itl_seconds.p50 * 1000, r.itl_seconds.p99 * 1000,
                          r.tpot_seconds.p50 * 1000, r.output_tokens_per_second);
  }
  // One level is one point: give it a range of its own (gnuplot refuses an empty one).
  // Sweeps over powers of two (1, 4, 16, 64) read best on a log scale.
  std::string x_range;
  if (load_min == load_max) {
    x_range = absl::StrFormat("set xrange [0:%g]\n", 2 * load_max);
  } else if (load_max >= 8 * load_min) {
    x_range = "set logscale x 2\n";
  }
  // Three panels sharing the x axis: TTFT and ITL differ by orders of magnitude.
  const std::string load_script = absl::StrCat(
      "set terminal pngcairo size 900,1000\nset output 'latency_vs_load.png'\n", x_range, "set xlabel '",
      open_loop ? "request rate (req/s)" : "concurrency", "'\n",
      "set grid\nset key top left\nset yrange [0:*]\nset multiplot layout 3,1 title 'latency vs load'\n",
      "set ylabel 'TTFT (ms)'\n",
      "plot 'latency_vs_load.dat' using 1:2 with linespoints title 'p50', '' using 1:3 with linespoints title 'p99'\n",
      "set ylabel 'ITL, TPOT (ms)'\n",
      "plot 'latency_vs_load.dat' using 1:4 with linespoints title 'ITL p50', '' using 1:5 with linespoints title "
      "'ITL p99', '' using 1:6 with linespoints title 'TPOT p50'\n",
      "set ylabel 'output tokens/s'\n",
      "plot 'latency_vs_load.dat' using 1:7 with linespoints title 'throughput'\nunset multiplot\n");

  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"latency_vs_load.dat", load_data},
           {"latency_vs_load.gp", load_script},
           {"itl_vs_position.dat", BucketData(total.itl_vs_position)},
           {"itl_vs_position.gp", ItlScript("itl_vs_position.dat", "itl_vs_position.png", "ITL vs context position",
                                            "context position (tokens)", total.itl_vs_position)},
           {"itl_vs_prompt_tokens.dat", BucketData(total.itl_vs_prompt_tokens)},
           {"itl_vs_prompt_tokens.gp",
            ItlScript("itl_vs_prompt_tokens.dat", "itl_vs_prompt_tokens.png", "ITL vs prompt length",
                      "prompt length (tokens)", total.itl_vs_prompt_tokens)}}) {
    if (absl::Status s = WriteText(d / name, text); !s.ok()) return s;
  }
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("gnuplot is not installed (apt-get install gnuplot-nox); the data and scripts are in ", dir));
  }
  for (const char* script : {"latency_vs_load.gp", "itl_vs_position.gp", "itl_vs_prompt_tokens.gp"}) {
    const std::string command = absl::StrCat("cd '", dir, "' && gnuplot ", script);
    if (std::system(command.c_str()) != 0) return absl::InternalError(absl::StrCat("gnuplot failed on ", script));
  }
  return absl::OkStatus();
}

}  // namespace glaserve::loadtest
