// `glaserve serve`: loads the model, starts the engine and the gRPC server, and drains
// gracefully on SIGTERM/SIGINT.
#ifndef GLASERVE_SERVER_SERVE_COMMAND_H_
#define GLASERVE_SERVER_SERVE_COMMAND_H_

namespace glaserve {

// Runs until a signal ends it; returns the process exit code.
int RunServeCommand();

}  // namespace glaserve

#endif  // GLASERVE_SERVER_SERVE_COMMAND_H_
