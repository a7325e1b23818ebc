// Windows port of sources/live.cpp: the running processes of the live Windows system
// (CreateToolhelp32Snapshot, QueryFullProcessImageNameW), each executable hashed once through a
// read-only handle (backup semantics, sharing read|write|delete), and the loaded kernel drivers
// (K32EnumDeviceDrivers and the driver's file and base names: sources/windows_live_drivers.h),
// each driver file hashed the same way. The drivers the SCM knows are the windows-system
// source's. Each process's command line (windows_live_cmdline.h): NtQueryInformationProcess
// (ProcessCommandLineInformation, Windows 8.1 and later, query access only), else read from its
// PEB (needs PROCESS_VM_READ); one that cannot be read is counted in a warning.
#include "audit/sources/live.h"

#include <windows.h>
// (after windows.h, which it needs)
#include <tlhelp32.h>
// K32EnumDeviceDrivers & co. (kernel32 since Windows 7, no psapi.dll import)
#ifndef PSAPI_VERSION
#define PSAPI_VERSION 2
#endif
#include <psapi.h>
#include <winternl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "audit/core/win_path.h"
#include "audit/fs/digest.h"
#include "audit/sources/windows.h"
#include "audit/sources/windows_live_cmdline.h"
#include "audit/sources/windows_live_drivers.h"
#include "formats/text.h"
#include "fs/win_fs.h"
#include "sources/base.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxProcesses = 100000;
constexpr std::size_t kMaxLoadedDrivers = 65536;
constexpr std::size_t kMaxCmdlinesPerExe = 8;

struct Exe {
    std::string sha256, error;
    std::uint64_t size = 0;
};

Exe hash_image(const std::wstring& path, fs::FileHasher& hasher) {
    Exe out;
    std::wstring p = path;
    if (p.size() > 2 && p[1] == L':') p = L"\\\\?\\" + p;
    HANDLE h = fs::win::open_handle(p, true);
    if (h == INVALID_HANDLE_VALUE) {
        out.error = fs::win::error_text("open", GetLastError());
        return out;
    }
    fs::win::Info info;
    if (!fs::win::info_of(h, info)) {
        out.error = fs::win::error_text("stat", GetLastError());
        CloseHandle(h);
        return out;
    }
    const int fd = fs::win::to_fd(h);
    if (fd < 0) {
        out.error = "open: out of descriptors";
        return out;
    }
    fs::UniqueFd owner(fd);
    auto r = hasher.hash(fd, info.size);
    if (r.error != 0) {
        out.error = std::string("read: ") + std::strerror(r.error);
        return out;
    }
    out.sha256 = r.digests.sha256;
    out.size = r.bytes;
    return out;
}

using LiveQueryInfo = LONG(NTAPI*)(HANDLE, ULONG, PVOID, ULONG, PULONG);

LiveQueryInfo live_query_info() {
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll ? reinterpret_cast<LiveQueryInfo>(
                       reinterpret_cast<void*>(GetProcAddress(ntdll, "NtQueryInformationProcess")))
                 : nullptr;
}

// At most 32767 UTF-16 units (a UNICODE_STRING's limit) of another process's memory.
bool live_read_remote_text(HANDLE ph, const UNICODE_STRING& u, std::wstring& out) {
    const std::size_t units = std::min<std::size_t>(u.Length / sizeof(wchar_t), 32767);
    out.assign(units, L'\0');
    SIZE_T got = 0;
    if (units == 0) return true;
    if (!ReadProcessMemory(ph, u.Buffer, out.data(), units * sizeof(wchar_t), &got)) return false;
    out.resize(got / sizeof(wchar_t));
    return true;
}

// The command line of pid; false (error set) when it cannot be read.
bool live_cmdline(DWORD pid, std::wstring& out, std::string& error) {
    const LiveQueryInfo query = live_query_info();
    if (!query) {
        error = "NtQueryInformationProcess not found";
        return false;
    }
    constexpr ULONG kProcessCommandLineInformation = 60;
    constexpr LONG kInvalidInfoClass = static_cast<LONG>(0xC0000003);
    if (HANDLE ph = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid)) {
        std::vector<std::uint8_t> buf(sizeof(UNICODE_STRING) + 65536);
        ULONG len = 0;
        const LONG st = query(ph, kProcessCommandLineInformation, buf.data(),
                              static_cast<ULONG>(buf.size()), &len);
        CloseHandle(ph);
        if (st >= 0) {
            const auto* u = reinterpret_cast<const UNICODE_STRING*>(buf.data());
            const auto* end = reinterpret_cast<const wchar_t*>(buf.data() + buf.size());
            const std::size_t units = std::min<std::size_t>(u->Length / sizeof(wchar_t), 32767);
            if (u->Buffer && u->Buffer + units <= end) {
                out.assign(u->Buffer, units);
                return true;
            }
            error = "ProcessCommandLineInformation: a reply out of bounds";
            return false;
        }
        if (st != kInvalidInfoClass) {
            error = "ProcessCommandLineInformation: NTSTATUS 0x" + [st] {
                char h[16];
                std::snprintf(h, sizeof h, "%08lx", static_cast<unsigned long>(st));
                return std::string(h);
            }();
            return false;
        }
    }
    // The class is not known here: the PEB's ProcessParameters->CommandLine.
    HANDLE ph = OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, pid);
    if (!ph) {
        error = "OpenProcess(PROCESS_VM_READ): " + core::win_error_text(GetLastError());
        return false;
    }
    PROCESS_BASIC_INFORMATION pbi{};
    ULONG len = 0;
    bool ok = query(ph, ProcessBasicInformation, &pbi, sizeof pbi, &len) >= 0 &&
              pbi.PebBaseAddress != nullptr;
    PEB peb{};
    RTL_USER_PROCESS_PARAMETERS params{};
    SIZE_T got = 0;
    ok = ok && ReadProcessMemory(ph, pbi.PebBaseAddress, &peb, sizeof peb, &got) &&
         got == sizeof peb && peb.ProcessParameters &&
         ReadProcessMemory(ph, peb.ProcessParameters, &params, sizeof params, &got) &&
         got == sizeof params && live_read_remote_text(ph, params.CommandLine, out);
    if (!ok) error = "reading the PEB: " + core::win_error_text(GetLastError());
    CloseHandle(ph);
    return ok;
}

// The system drive's letter ("C"): paths on other fixed drives are "/X:/..." (all are walked).
std::string live_system_drive() {
    wchar_t windir[MAX_PATH + 1] = {};
    const UINT n = GetSystemWindowsDirectoryW(windir, MAX_PATH);
    return n >= 2 && n <= MAX_PATH && windir[1] == L':' && windir[0] < 128
               ? std::string(1, static_cast<char>(windir[0]))
               : std::string("C");
}

// Wine's version when this runs under Wine (ntdll exports wine_get_version), else "".
std::string live_wine_version() {
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    if (!ntdll) return {};
    using Fn = const char*(__cdecl*)();
    const auto fn =
        reinterpret_cast<Fn>(reinterpret_cast<void*>(GetProcAddress(ntdll, "wine_get_version")));
    const char* v = fn ? fn() : nullptr;
    return v ? std::string(v).substr(0, 64) : std::string();
}

std::string live_error(const char* call, DWORD code) {
    return std::string(call) + ": " + core::win_error_text(code) + " (" + std::to_string(code) +
           ")";
}

// EnumDeviceDrivers and each driver's names: the list as the kernel reports it.
windows_live::DriverList list_loaded_drivers() {
    windows_live::DriverList out;
    out.wine = live_wine_version();
    std::vector<LPVOID> bases(1024);
    for (;;) {
        DWORD needed = 0;
        const DWORD have = static_cast<DWORD>(bases.size() * sizeof(LPVOID));
        if (!K32EnumDeviceDrivers(bases.data(), have, &needed)) {
            out.error = live_error("EnumDeviceDrivers", GetLastError());
            return out;
        }
        if (needed <= have) {
            bases.resize(needed / sizeof(LPVOID));
            break;
        }
        if (needed / sizeof(LPVOID) > kMaxLoadedDrivers) {
            out.error = "more than " + std::to_string(kMaxLoadedDrivers) + " loaded drivers";
            return out;
        }
        bases.resize(needed / sizeof(LPVOID) + 64);  // drivers loaded meanwhile
    }
    // Windows 11 24H2 and later give the load addresses only to a caller with SeDebugPrivilege
    // enabled; to anyone else the call succeeds with every address null, and no driver can be
    // named. The scan enables the privilege when its token holds it (tools/scan/windows_scan.h).
    if (!bases.empty() && std::all_of(bases.begin(), bases.end(), [](LPVOID b) { return !b; })) {
        out.error = std::to_string(bases.size()) +
                    " load addresses, all null: Windows 11 24H2 and later give them only to a "
                    "caller with SeDebugPrivilege enabled (run the scan as an administrator)";
        return out;
    }
    out.listed = true;
    for (LPVOID b : bases) {
        windows_live::LoadedDriver d;
        if (!b) {
            d.error = "null load address";
            out.drivers.push_back(std::move(d));
            continue;
        }
        std::wstring buf(32768, L'\0');
        DWORD n = K32GetDeviceDriverFileNameW(b, buf.data(), static_cast<DWORD>(buf.size()));
        if (n > 0)
            d.file = core::utf8_of(buf.substr(0, n));
        else
            d.error = live_error("GetDeviceDriverFileNameW", GetLastError());
        n = K32GetDeviceDriverBaseNameW(b, buf.data(), static_cast<DWORD>(buf.size()));
        if (n > 0)
            d.base = core::utf8_of(buf.substr(0, n));
        else
            d.error = live_error("GetDeviceDriverBaseNameW", GetLastError());
        out.drivers.push_back(std::move(d));
    }
    return out;
}

void loaded_drivers(Collection& c, fs::FileHasher& hasher) {
    wchar_t windir[MAX_PATH + 1] = {};
    const UINT wn = GetSystemWindowsDirectoryW(windir, MAX_PATH);
    const std::string windows_dir =
        wn > 0 && wn <= MAX_PATH ? core::utf8_of(std::wstring(windir, wn)) : "C:\\Windows";
    windows_live::loaded_driver_items(
        list_loaded_drivers(), windows_dir,
        [&hasher](const std::string& path) {
            const Exe e = hash_image(core::wide_path(path), hasher);
            windows_live::DriverFile f;
            f.sha256 = e.sha256;
            f.error = e.error;
            f.size = e.size;
            return f;
        },
        c.items, c.warnings(), c.failures);
}

}  // namespace

void LiveSource::read(const fs::Root& root, Collection& c) const {
    if (!root.is_live()) return;  // absent: an offline disk has no running processes
    c.found = true;
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    if (snap == INVALID_HANDLE_VALUE) {
        c.failures.push_back("cannot list processes: " + core::win_error_text(GetLastError()));
        return;
    }
    std::vector<DWORD> pids;
    PROCESSENTRY32W e{};
    e.dwSize = sizeof e;
    for (BOOL ok = Process32FirstW(snap, &e); ok && pids.size() < kMaxProcesses;
         ok = Process32NextW(snap, &e))
        pids.push_back(e.th32ProcessID);
    CloseHandle(snap);
    fs::FileHasher hasher(fs::DigestPolicy{});
    std::map<std::pair<std::string, std::string>, InventoryItem> by_exe;
    std::size_t unreadable = 0, system = 0, denied = 0, no_cmdline = 0;
    std::string first_no_cmdline;
    for (DWORD pid : pids) {
        if (pid == 0 || pid == 4) {  // System Idle Process and System: no image file
            ++system;
            continue;
        }
        HANDLE ph = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
        if (!ph) {
            if (GetLastError() == ERROR_ACCESS_DENIED) ++denied;
            ++unreadable;  // not ours to query, or exited
            continue;
        }
        std::wstring image(32768, L'\0');
        DWORD len = static_cast<DWORD>(image.size());
        const BOOL got = QueryFullProcessImageNameW(ph, 0, image.data(), &len);
        CloseHandle(ph);
        if (!got || len == 0) {
            ++unreadable;
            continue;
        }
        image.resize(len);
        const std::string path = core::utf8_of(image);
        const Exe exe = hash_image(image, hasher);
        auto& item = by_exe[{path, exe.sha256}];
        if (item.name.empty()) {
            item.ecosystem = "process";
            item.name = path.substr(path.find_last_of("\\/") + 1);
            item.state = "running";
            item.source = "process:" + std::to_string(pid);
            item.extra["live"] = true;
            item.extra["exe"] = path;
            item.extra["pids"] = nlohmann::json::array();
            item.extra["cmdlines"] = nlohmann::json::array();
            if (!exe.sha256.empty()) {
                item.extra["sha256"] = exe.sha256;
                item.extra["size"] = exe.size;
            } else {
                item.extra["error"] = exe.error;
                ++unreadable;
            }
            if (auto rel = windows_path_to_root(path, live_system_drive(), true); !rel.empty())
                item.paths.push_back(rel);
        }
        item.extra["pids"].push_back(pid);
        if (item.extra["cmdlines"].size() < kMaxCmdlinesPerExe) {
            std::wstring cmd;
            std::string why;
            if (live_cmdline(pid, cmd, why))
                item.extra["cmdlines"].push_back(
                    windows_live::windows_cmdline_record(core::utf8_of(cmd)));
            else if (++no_cmdline == 1)
                first_no_cmdline = "pid " + std::to_string(pid) + ": " + why;
        }
    }
    if (unreadable)
        text::warn(c.warnings(), std::to_string(unreadable) +
                                     " process executable(s) could not be read (access, exited)");
    if (no_cmdline)
        text::warn(c.warnings(),
                   std::to_string(no_cmdline) +
                       " process command line(s) could not be read (access, exited; " +
                       first_no_cmdline + ")");
    if (denied)
        text::warn(c.warnings(), "permission_denied: " + std::to_string(denied) +
                                     " process executable(s) could not be read");
    c.warnings().push_back(std::to_string(system) + " system process(es) without an executable");
    for (auto& [k, item] : by_exe) c.items.push_back(std::move(item));
    loaded_drivers(c, hasher);
}

}  // namespace audit::sources
