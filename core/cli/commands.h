// The subcommands of the sparseinfer tool. Each takes the words after its
// name, returns the exit status, and throws tools::UsageError for command-line
// mistakes and sparseinfer::Error for everything else.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace sparseinfer::cli {

int cmd_info(const std::vector<std::string>& args);
int cmd_run(const std::vector<std::string>& args);
int cmd_stream(const std::vector<std::string>& args);
int cmd_calibrate(const std::vector<std::string>& args);

void print_info_help(std::ostream& os);
void print_run_help(std::ostream& os);
void print_stream_help(std::ostream& os);
void print_calibrate_help(std::ostream& os);

}  // namespace sparseinfer::cli
