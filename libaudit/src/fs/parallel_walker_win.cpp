// Windows port of fs/parallel_walker.cpp: the same targets and records, walked on the calling
// thread by walker_win.cpp (jobs is accepted and not used yet: one worker on Windows).
#include "audit/fs/parallel_walker.h"

#include <windows.h>

namespace audit::fs {

unsigned default_jobs() {
    DWORD_PTR process = 0, system = 0;
    if (GetProcessAffinityMask(GetCurrentProcess(), &process, &system) && process != 0) {
        unsigned n = 0;
        for (DWORD_PTR m = process; m; m &= m - 1) ++n;
        return n;
    }
    return 1;
}

WalkStats walk_parallel(const Root& root, const WalkTargets& targets, const WalkOptions& options,
                        unsigned jobs, const std::function<void(FileRecord&&)>& sink) {
    (void)jobs;
    WalkStats stats;
    for (const auto& s : targets.subtrees) walk(root, s, options, sink, stats);
    WalkOptions one = options;
    one.max_depth = 0;  // described, never descended (as inspect())
    for (const auto& p : targets.paths) {
        walk(
            root, p, one,
            [&](FileRecord&& r) {
                if (r.skipped == "max-depth") r.skipped.clear();
                sink(std::move(r));
            },
            stats);
    }
    return stats;
}

}  // namespace audit::fs
