// The parallel read-only walk: directory fds, getdents64, and a bounded pool of workers that list
// directories and hash files (one read per file, every digest of the policy from it).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "audit/fs/root.h"
#include "audit/fs/walker.h"

namespace audit::fs {

// CPUs this process may run on (its affinity mask), at least 1.
unsigned default_jobs();

struct WalkTargets {
    std::vector<std::string> subtrees;  // walked as walk() walks them
    std::vector<std::string> paths;     // described as inspect() describes them, never descended
};

// Records the same entries as walk()/inspect() with the same rules (no link followed, no FIFO or
// device opened, one filesystem unless told), but in no particular order: sort them. jobs
// workers (0: default_jobs()); jobs == 1 runs on the calling thread. sink is called from the
// workers concurrently and must be thread-safe; an exception from it (or any worker) stops the
// walk and is rethrown here once every worker has stopped.
WalkStats walk_parallel(const Root& root, const WalkTargets& targets, const WalkOptions& options,
                        unsigned jobs, const std::function<void(FileRecord&&)>& sink);

}  // namespace audit::fs
