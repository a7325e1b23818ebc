#include "audit/attest/report_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>

#include "attest/report_parts.h"
#include "audit/core/atomic_file.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/trust/trust_root.h"

namespace audit::attest {

namespace {

using nlohmann::json;

constexpr std::size_t kBatch = 512;  // statuses signed together (on every core)
// Stands for a streamed array in a document dumped before the array is written. Dumped as
// "\u0001stream\u0001": a string from evidence cannot put it after `\n  "KEY": ` (its quotes
// and newlines are escaped), so only the document's own field matches.
const std::string kToken = "\x01stream\x01";

std::string dumped(const json& j, int indent) {
    return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

// One element of a top-level array as dump(2) writes it: indented by four spaces.
std::string element(const json& j) {
    std::string s = dumped(j, 2), out = "    ";
    out.reserve(s.size() + s.size() / 8);
    for (char c : s) {
        out.push_back(c);
        if (c == '\n') out += "    ";
    }
    return out;
}

// A scratch file in dir, unlinked from the start: written once, then read back.
class Spill {
  public:
    explicit Spill(const std::string& dir) {
        int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0) {  // a file system without O_TMPFILE
            std::string tmpl = dir + "/.report-scratch.XXXXXX";
            fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
            if (fd < 0)
                throw IoError("cannot create a scratch file in " + dir + ": " +
                              std::strerror(errno));
            ::unlink(tmpl.c_str());
        }
        f_ = ::fdopen(fd, "w+");
        if (!f_) {
            ::close(fd);
            throw IoError("cannot open a scratch file in " + dir);
        }
    }
    ~Spill() { std::fclose(f_); }
    Spill(const Spill&) = delete;
    Spill& operator=(const Spill&) = delete;

    void write(std::string_view bytes) {
        if (bytes.empty()) return;
        if (std::fwrite(bytes.data(), 1, bytes.size(), f_) != bytes.size())
            throw IoError("cannot write a report scratch file: " + std::string(strerror(errno)));
        size_ += bytes.size();
    }
    std::size_t size() const { return size_; }
    // fn(line) for each line (without its newline) until fn returns false.
    template <typename Fn>
    void lines(Fn&& fn) {
        rewind();
        char* buf = nullptr;
        std::size_t cap = 0;
        try {
            for (ssize_t n; (n = ::getline(&buf, &cap, f_)) > 0;) {
                std::string_view line(buf, static_cast<std::size_t>(n));
                if (line.back() == '\n') line.remove_suffix(1);
                if (!fn(line)) break;
            }
        } catch (...) {
            std::free(buf);
            throw;
        }
        std::free(buf);
        end();
    }
    void copy_to(core::AtomicFile& out) {
        rewind();
        std::string chunk(1 << 16, '\0');
        for (std::size_t n; (n = std::fread(chunk.data(), 1, chunk.size(), f_)) > 0;)
            out.write(std::string_view(chunk.data(), n));
        if (std::ferror(f_)) throw IoError("cannot read a report scratch file");
        end();
    }

  private:
    void rewind() {
        if (std::fflush(f_) != 0 || std::fseek(f_, 0, SEEK_SET) != 0)
            throw IoError("cannot read a report scratch file");
    }
    void end() {
        if (std::fseek(f_, 0, SEEK_END) != 0) throw IoError("cannot seek a report scratch file");
    }
    std::FILE* f_ = nullptr;
    std::size_t size_ = 0;
};

// Writes doc (dumped with kToken for each streamed key at the top level) into out, each token
// replaced by the array its writer streams: fn(out, first) writes one element and its
// separator.
using ArrayWriter = std::function<void(core::AtomicFile&)>;
void write_spliced(core::AtomicFile& out, const std::string& doc,
                   std::vector<std::pair<std::string, ArrayWriter>> arrays) {
    std::vector<std::pair<std::size_t, std::size_t>> at;  // (position, array index)
    const std::string value = dumped(json(kToken), -1);
    for (std::size_t i = 0; i < arrays.size(); ++i) {
        const std::string needle = "\n  " + dumped(json(arrays[i].first), -1) + ": " + value;
        auto pos = doc.find(needle);
        if (pos == std::string::npos || doc.find(needle, pos + 1) != std::string::npos)
            throw IoError("report: cannot place the streamed array " + arrays[i].first);
        at.emplace_back(pos + needle.size() - value.size(), i);
    }
    std::sort(at.begin(), at.end());
    std::size_t from = 0;
    for (const auto& [pos, i] : at) {
        out.write(std::string_view(doc).substr(from, pos - from));
        arrays[i].second(out);
        from = pos + value.size();
    }
    out.write(std::string_view(doc).substr(from));
}

// The elements in spill (each already element()-formatted, joined by ",\n") as an array.
void write_array(core::AtomicFile& out, Spill& spill) {
    if (spill.size() == 0) {
        out.write("[]");
        return;
    }
    out.write("[\n");
    spill.copy_to(out);
    out.write("\n  ]");
}

}  // namespace

struct ReportStream::Impl {
    const crypto::SigningKey& inspector;
    ReportOptions options;
    FarOptions far;
    std::string out;
    std::vector<std::optional<crypto::SigningKey>> keys;
    std::vector<HostProductStatus> pending;
    detail::ReportTotals totals;
    std::size_t hosts = 0;
    Articles articles;
    std::vector<Article> plan;  // present articles only
    std::size_t far_records = 0;
    std::string earliest_due;
    Spill results;   // one result per line, compact: read back for the page and milestones
    Spill pretty;    // the same as report.json's "results" elements
    Spill far_json;  // far-52.204-23.json "records" elements
    std::optional<core::AtomicFile> csv;
    core::AtomicFile far_csv;

    Impl(const crypto::SigningKey& key, const ReportOptions& opt, const FarOptions& f)
        : inspector(key),
          options(opt),
          far(f),
          out((detail::make_report_dir(opt.out_dir), opt.out_dir)),
          results((detail::make_report_dir(out + "/attestations"), out)),
          pretty(out),
          far_json(out),
          far_csv(out + "/far-52.204-23.csv") {
        articles.as_of = options.as_of;
        if (options.html) {
            csv.emplace(out + "/report.csv");
            csv->write(csv_header(false));
        }
        far_csv.write(far_csv_header());
    }

    void flush() {
        if (pending.empty()) return;
        const auto names = detail::sign_attestations(pending.data(), pending.size(), keys,
                                                     inspector, out, options.generated);
        for (std::size_t i = 0; i < pending.size(); ++i) {
            json r = pending[i].to_json();
            r["attestation"] = "attestations/" + names[i];
            totals.add(r);
            results.write(dumped(r, -1) + "\n");
            pretty.write((pretty.size() ? ",\n" : "") + element(r));
            if (csv) csv->write(csv_row(r, false));
        }
        pending.clear();
    }

    ResultSource source() {
        return [this](const ResultVisitor& visit) {
            results.lines([&](std::string_view line) { return visit(json::parse(line)); });
        };
    }
};

ReportStream::ReportStream(const crypto::SigningKey& inspector, const ReportOptions& options,
                           const FarOptions& far)
    : impl_(std::make_unique<Impl>(inspector, options, far)) {}

ReportStream::~ReportStream() = default;

std::size_t ReportStream::results() const {
    return static_cast<std::size_t>(impl_->totals.results()) + impl_->pending.size();
}

void ReportStream::add_host(const std::vector<const BundleSummary*>& host,
                            std::vector<HostProductStatus> statuses) {
    Impl& s = *impl_;
    s.articles.collect(host, statuses);
    for (auto& a : s.articles.take()) {
        const json rec = far_record(a, s.far);
        s.far_json.write((s.far_json.size() ? ",\n" : "") + element(rec));
        s.far_csv.write(far_csv_row(rec));
        ++s.far_records;
        const std::string due = rec.value("report_due", "");
        if (!due.empty() && (s.earliest_due.empty() || due < s.earliest_due)) s.earliest_due = due;
        if (a.status == "present") s.plan.push_back(std::move(a));
    }
    std::set<std::string> keys;
    for (auto& st : statuses) {
        keys.insert(st.host_key);
        s.pending.push_back(std::move(st));
    }
    s.hosts += keys.size();
    if (s.pending.size() >= kBatch) s.flush();
}

ReportSummary ReportStream::finish(const ReportContext& context, const BundleEntries& bundles) {
    Impl& s = *impl_;
    s.flush();
    detail::sync_report_dir(s.out + "/attestations");
    const ResultSource results = s.source();
    ReportSummary summary;
    summary.all_clear = s.totals.all_clear();
    json head = s.totals.head(s.options, context, s.inspector.identity().keyid, s.hosts, results);
    const json plan = removal_plan(s.plan);
    s.plan.clear();
    s.plan.shrink_to_fit();
    add_agency_sections(head, s.options.title, plan, s.far_records, s.earliest_due);

    {
        json doc = head;
        doc["results"] = kToken;
        doc["bundles"] = kToken;
        const std::optional<long long> limit =
            s.options.as_of.empty() ? std::nullopt
                                    : std::optional(detail::report_epoch(s.options.as_of));
        core::AtomicFile file(s.out + "/report.json");
        write_spliced(file, dumped(doc, 2) + "\n",
                      {{"results", [&](core::AtomicFile& f) { write_array(f, s.pretty); }},
                       {"bundles", [&](core::AtomicFile& f) {
                            bool first = true;
                            bundles([&](const json& b) {
                                // --as-of: a bundle whose scan finished after it is not listed.
                                auto it = b.find("finished");
                                if (limit && it != b.end() && it->is_string() &&
                                    trust::is_rfc3339_utc(it->get<std::string>()) &&
                                    detail::report_epoch(it->get<std::string>()) > *limit)
                                    return;
                                f.write(first ? "[\n" : ",\n");
                                f.write(element(b));
                                first = false;
                            });
                            f.write(first ? "[]" : "\n  ]");
                        }}});
        file.commit(false, 0644);
    }
    if (s.csv) {
        s.csv->commit(false, 0644);
        evidence::write_file_atomic(s.out + "/report.html", render_html(head, results));
    }
    evidence::write_file_atomic(s.out + "/removal-plan.csv", render_plan_csv(plan));
    {
        json doc = far_draft_head(s.far);
        doc["records"] = kToken;
        core::AtomicFile file(s.out + "/far-52.204-23.json");
        write_spliced(file, dumped(doc, 2) + "\n",
                      {{"records", [&](core::AtomicFile& f) { write_array(f, s.far_json); }}});
        file.commit(false, 0644);
    }
    s.far_csv.commit(false, 0644);
    sign_report(s.out, head, true, static_cast<std::size_t>(s.totals.results()), s.inspector);
    summary.report = std::move(head);
    return summary;
}

}  // namespace audit::attest
