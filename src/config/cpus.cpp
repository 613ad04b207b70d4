#include "config/cpus.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace config {

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    std::stringstream in(s);
    for (std::string part; std::getline(in, part, sep);) parts.push_back(part);
    return parts;
}

bool names(const std::string& list, const std::string& controller) {
    const auto parts = split(list, ',');
    return std::find(parts.begin(), parts.end(), controller) != parts.end();
}

struct Mount {
    std::string root;   // the cgroup the mount shows at its top ("/" or, in a container, its own)
    std::string point;  // where it is mounted
};

// The folder of cgroup `path` under `mount`.
std::string folder_of(const Mount& mount, const std::string& path) {
    if (mount.root == "/") return mount.point + (path == "/" ? "" : path);
    if (path == mount.root) return mount.point;
    if (path.starts_with(mount.root + "/")) return mount.point + path.substr(mount.root.size());
    // A container's own view (cgroup namespace or bind mount) may not match the path the
    // process sees: the mount's top is then its cgroup.
    return mount.point;
}

// `smallest` becomes `q` if `q` is a quota below it (or the first one).
void keep_smaller(std::optional<double>& smallest, std::optional<double> q) {
    if (q && (!smallest || *q < *smallest)) smallest = q;
}

// The smallest quota of `folder` and the folders above it up to the mount point; `quota_of`
// reads one folder's (nothing when unlimited or absent).
template <class QuotaOf>
std::optional<double> smallest_quota(std::string folder, const std::string& top, QuotaOf quota_of) {
    std::optional<double> smallest;
    for (;;) {
        keep_smaller(smallest, quota_of(folder));
        if (folder.size() <= top.size()) break;
        const auto slash = folder.rfind('/');
        if (slash == std::string::npos || slash < top.size()) break;
        folder.resize(std::max(slash, top.size()));
    }
    return smallest;
}

std::optional<double> v2_quota(const std::string& folder) {
    std::istringstream in(read_file(folder + "/cpu.max"));  // "max 100000" or "150000 100000"
    std::string quota;
    double period = 0;
    if (!(in >> quota >> period) || quota == "max" || period <= 0) return std::nullopt;
    try {
        const double q = std::stod(quota);
        return q > 0 ? std::optional<double>(q / period) : std::nullopt;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::optional<double> v1_quota(const std::string& folder) {
    double quota = 0, period = 0;
    std::istringstream(read_file(folder + "/cpu.cfs_quota_us")) >> quota;  // -1: unlimited
    std::istringstream(read_file(folder + "/cpu.cfs_period_us")) >> period;
    if (quota <= 0 || period <= 0) return std::nullopt;
    return quota / period;
}

}  // namespace

std::optional<double> cgroup_cpu_quota(const std::string& proc_self_cgroup,
                                       const std::string& mountinfo) {
    std::optional<Mount> v2, v1;
    for (const auto& line : split(mountinfo, '\n')) {
        // "36 25 0:31 / /sys/fs/cgroup/cpu rw,relatime shared:12 - cgroup cgroup rw,cpu"
        const auto dash = line.find(" - ");
        if (dash == std::string::npos) continue;
        const auto left = split(line.substr(0, dash), ' ');
        const auto right = split(line.substr(dash + 3), ' ');
        if (left.size() < 5 || right.empty()) continue;
        const Mount mount{left[3], left[4]};
        if (right[0] == "cgroup2" && !v2) v2 = mount;
        if (right[0] == "cgroup" && right.size() >= 3 && names(right[2], "cpu") && !v1) v1 = mount;
    }
    std::optional<double> smallest;
    for (const auto& line : split(proc_self_cgroup, '\n')) {
        // "0::/user.slice/x.scope" (v2) or "4:cpu,cpuacct:/docker/abc" (v1)
        const auto first = line.find(':');
        const auto second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        const std::string controllers = line.substr(first + 1, second - first - 1);
        const std::string path = line.substr(second + 1);
        if (controllers.empty() && line.substr(0, first) == "0" && v2)
            keep_smaller(smallest, smallest_quota(folder_of(*v2, path), v2->point, v2_quota));
        else if (names(controllers, "cpu") && v1)
            keep_smaller(smallest, smallest_quota(folder_of(*v1, path), v1->point, v1_quota));
    }
    return smallest;
}

unsigned usable_cpus() {
    unsigned cpus = 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = static_cast<unsigned>(CPU_COUNT(&set));
    if (cpus == 0) cpus = std::max(1u, std::thread::hardware_concurrency());
    if (const auto quota =
            cgroup_cpu_quota(read_file("/proc/self/cgroup"), read_file("/proc/self/mountinfo")))
        cpus = std::min(cpus, static_cast<unsigned>(std::ceil(*quota)));
    return std::max(1u, cpus);
}

}  // namespace config
