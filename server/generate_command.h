// `glaserve generate`: one completion from a checkpoint, streamed to stdout or printed as
// one JSON object. The first thing a user can run, and what end-to-end tests drive.
#ifndef GLASERVE_SERVER_GENERATE_COMMAND_H_
#define GLASERVE_SERVER_GENERATE_COMMAND_H_

namespace glaserve {

// Runs with the already-parsed flags; returns the process exit code.
int RunGenerateCommand();

}  // namespace glaserve

#endif  // GLASERVE_SERVER_GENERATE_COMMAND_H_
