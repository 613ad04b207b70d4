// The CPUs the service may use (config/cpus.hpp): cgroup quotas read from a fake cgroup tree,
// as a container or a systemd slice would have it. The affinity mask is tested on the real
// binary under taskset (tests/e2e/cli_test.cpp).

#include "config/cpus.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace {

namespace fs = std::filesystem;

class FakeCgroups : public ::testing::Test {
  protected:
    FakeCgroups() {
        root = fs::path(::testing::TempDir()) / ("cgroups-" + std::to_string(::getpid()));
        fs::remove_all(root);
        fs::create_directories(root);
    }
    ~FakeCgroups() override { fs::remove_all(root); }

    // Writes `text` to the file `relative` under the fake tree.
    void file(const std::string& relative, const std::string& text) {
        const fs::path p = root / relative;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
    }
    std::string at(const std::string& relative) const { return (root / relative).string(); }

    fs::path root;
};

TEST_F(FakeCgroups, V2TheSmallestQuotaOnThePathFromTheProcessesCgroupUp) {
    const std::string mountinfo =
        "30 23 0:26 / " + at("unified") +
        " rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
    file("unified/cpu.max", "max 100000\n");  // the root: no limit
    file("unified/kubepods/cpu.max", "400000 100000\n");
    file("unified/kubepods/pod1/cpu.max", "150000 100000\n");
    file("unified/kubepods/pod1/app/cpu.max", "max 100000\n");
    EXPECT_EQ(config::cgroup_cpu_quota("0::/kubepods/pod1/app\n", mountinfo), 1.5);
    EXPECT_EQ(config::cgroup_cpu_quota("0::/kubepods\n", mountinfo), 4.0);
    EXPECT_FALSE(config::cgroup_cpu_quota("0::/\n", mountinfo));
    EXPECT_FALSE(config::cgroup_cpu_quota("0::/elsewhere\n", mountinfo));  // nothing limits it
    // A container with its own cgroup namespace sees itself at the top: the mount's cpu.max.
    file("unified/cpu.max", "50000 100000\n");
    EXPECT_EQ(config::cgroup_cpu_quota("0::/\n", mountinfo), 0.5);
}

TEST_F(FakeCgroups, V1QuotaOverPeriodOfTheCpuController) {
    const std::string mountinfo =
        "25 24 0:22 / " + at("memory") + " rw shared:9 - cgroup cgroup rw,memory\n" +
        "26 24 0:23 / " + at("cpu,cpuacct") + " rw shared:10 - cgroup cgroup rw,cpu,cpuacct\n";
    file("cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
    file("cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    file("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "200000\n");
    file("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
    const std::string cgroup = "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n";
    EXPECT_EQ(config::cgroup_cpu_quota(cgroup, mountinfo), 2.0);
    EXPECT_FALSE(config::cgroup_cpu_quota("4:cpu,cpuacct:/\n", mountinfo));  // -1: unlimited
    // Docker's v1 view: the mount's top is the container's cgroup, whose host path the
    // process still sees in /proc/self/cgroup.
    const std::string docker = "26 24 0:23 /docker/abc " + at("cpu,cpuacct/docker/abc") +
                               " rw - cgroup cgroup rw,cpu,cpuacct\n";
    EXPECT_EQ(config::cgroup_cpu_quota(cgroup, docker), 2.0);
}

TEST_F(FakeCgroups, NoCgroupsAtAllMeansNoQuota) {
    EXPECT_FALSE(config::cgroup_cpu_quota("", ""));
    EXPECT_FALSE(config::cgroup_cpu_quota("0::/x\n", "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"));
}

TEST(UsableCpus, AtLeastOneAndNoMoreThanTheMachineHas) {
    const unsigned n = config::usable_cpus();
    EXPECT_GE(n, 1u);
    EXPECT_LE(n, std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace
