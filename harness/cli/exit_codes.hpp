// Exit codes of the santa command (documented in harness/README.md).
#pragma once

namespace santa::harness::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,          // a point failed, or a file could not be read or written
  kExitInvalid = 2,         // bad command line, invalid spec (FILE:LINE:COL messages), bad shard
  kExitOutputConflict = 3,  // output exists without --resume/--force, or --resume into another spec's file
  kExitUnavailable = 4,     // the kind cannot run in this build (latency without CUDA)
  kExitInterrupted = 130,   // Ctrl-C / SIGTERM: finished points are in the file
};

}  // namespace santa::harness::cli
