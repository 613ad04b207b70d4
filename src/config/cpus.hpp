#pragma once
// How many CPUs this process may really use: not the host's count, but its affinity mask
// (taskset, cpuset) lowered by a CPU quota of its cgroup (a container's --cpus), so that a
// container limited to 1 CPU on a 16-core host does not run 16 event loops into CFS
// throttling. Default of THREADS and PASSWORD_HASH_THREADS.

#include <optional>
#include <string>

namespace config {

// The affinity mask's CPUs, lowered by the cgroup quota rounded up; at least 1.
unsigned usable_cpus();

// The CPU quota (in CPUs, 1.5 for "150000 100000") of the cgroup that `proc_self_cgroup`
// (/proc/self/cgroup's text) names, or of any cgroup above it, the smallest; nothing if none
// is limited. cgroup v2 (cpu.max) and v1 (cpu.cfs_quota_us / cpu.cfs_period_us) alike; where
// their hierarchies are mounted comes from `mountinfo` (/proc/self/mountinfo's text).
std::optional<double> cgroup_cpu_quota(const std::string& proc_self_cgroup,
                                       const std::string& mountinfo);

}  // namespace config
