// The evidence model meets JSON here and nowhere else (predicate, coverage, findings, host).
// Rules: evidence/coverage.h. Required members are checked in the order the bundle reader has
// always checked them, with its messages; optional members are read as leniently as the readers
// always read them; what a typed member would not write back identically stays in `extra`.
#include "audit/evidence/predicate.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "audit/error.h"

namespace audit::evidence {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& field, const char* want) {
    throw VerifyError("statement predicate field " + field + " is missing or not " + want);
}

const json* member(const json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
}

// --- lenient readers: a missing member or one of another type is "not recorded" ---------------

std::optional<std::string> opt_string(const json& obj, const char* key) {
    const json* v = member(obj, key);
    if (v && v->is_string()) return v->get<std::string>();
    return std::nullopt;
}

// The string entries of a list (others skipped, as the readers skip them).
std::optional<std::vector<std::string>> opt_strings(const json& obj, const char* key) {
    const json* v = member(obj, key);
    if (!v || !v->is_array()) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& s : *v)
        if (s.is_string()) out.push_back(s.get<std::string>());
    return out;
}

std::optional<bool> opt_bool(const json& obj, const char* key) {
    const json* v = member(obj, key);
    if (v && v->is_boolean()) return v->get<bool>();
    return std::nullopt;
}

// A non-negative integer. Parsed JSON holds every one as unsigned; a predicate built in memory
// (json{{"sequence", 1}}) holds a signed one, which reads the same.
bool is_unsigned(const json& v) {
    return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
}

std::optional<std::uint64_t> opt_unsigned(const json& obj, const char* key) {
    const json* v = member(obj, key);
    if (v && is_unsigned(*v)) return v->get<std::uint64_t>();
    return std::nullopt;
}

std::optional<json> opt_any(const json& obj, const char* key) {
    const json* v = member(obj, key);
    if (v) return *v;
    return std::nullopt;
}

std::optional<json> opt_object(const json& obj, const char* key) {
    const json* v = member(obj, key);
    if (v && v->is_object()) return *v;
    return std::nullopt;
}

template <typename T>
void put(json& out, const char* key, const std::optional<T>& v) {
    if (v) out[key] = *v;
}

std::string text(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Same type and same value all the way down (floats bit for bit): then both dump the same text.
// Not the converse: json's == takes 1 and 1.0 (or 0.0 and -0.0) as equal, which dump apart.
bool same_tree(const json& a, const json& b) {
    if (a.type() != b.type()) return false;
    switch (a.type()) {
        case json::value_t::object: {
            if (a.size() != b.size()) return false;
            for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
                if (ia.key() != ib.key() || !same_tree(*ia, *ib)) return false;
            return true;
        }
        case json::value_t::array: {
            if (a.size() != b.size()) return false;
            for (std::size_t i = 0; i < a.size(); ++i)
                if (!same_tree(a[i], b[i])) return false;
            return true;
        }
        case json::value_t::number_float: {
            const double x = a.get<double>(), y = b.get<double>();
            return std::memcmp(&x, &y, sizeof x) == 0;
        }
        default:
            return a == b;
    }
}

// The members of in that typed (what the typed members write) would not write back the same.
// (Compared as trees first: dumping both sides of every member, certificates included, was a
// tenth of a fleet import's CPU; a difference is still judged by the text, as before.)
json extra_of(const json& in, const json& typed) {
    json extra = json::object();
    if (!in.is_object()) return extra;
    for (const auto& [k, v] : in.items()) {
        auto it = typed.find(k);
        if (it == typed.end() || (!same_tree(*it, v) && text(*it) != text(v))) extra[k] = v;
    }
    return extra;
}

json with_extra(json typed, const json& extra) {
    if (extra.is_object())
        for (const auto& [k, v] : extra.items()) typed[k] = v;
    return typed;
}

// --- strict readers (the shape check) ------------------------------------------------------------

const json& strict_object(const json& obj, const std::string& path, const char* key) {
    const json* v = member(obj, key);
    if (!v || !v->is_object()) bad(path + key, "an object");
    return *v;
}

std::string strict_string(const json& obj, const std::string& path, const char* key) {
    const json* v = member(obj, key);
    if (!v || !v->is_string()) bad(path + key, "a string");
    return v->get<std::string>();
}

std::optional<std::string> strict_nullable_string(const json& obj, const std::string& path,
                                                  const char* key) {
    const json* v = member(obj, key);
    if (!v || !(v->is_string() || v->is_null())) bad(path + key, "a string or null");
    if (v->is_null()) return std::nullopt;
    return v->get<std::string>();
}

std::vector<std::string> strict_strings(const json& obj, const std::string& path, const char* key) {
    const json* v = member(obj, key);
    if (!v || !v->is_array()) bad(path + key, "a list of strings");
    std::vector<std::string> out;
    for (const auto& x : *v) {
        if (!x.is_string()) bad(path + key, "a list of strings");
        out.push_back(x.get<std::string>());
    }
    return out;
}

json nullable(const std::optional<std::string>& v) {
    return v ? json(*v) : json(nullptr);
}

// --- typed members as JSON (without extra) -----------------------------------------------------

json typed(const SystemCoverage& s) {
    json out = json::object();
    put(out, "os", s.os);
    put(out, "os_evidence", s.os_evidence);
    put(out, "package_databases", s.package_databases);
    put(out, "identifiers", s.identifiers);
    put(out, "gaps", s.gaps);
    return out;
}

json typed(const WalkCoverage& w) {
    json out = json::object();
    put(out, "scope", w.scope);
    put(out, "digests", w.digests);
    put(out, "roots", w.roots);
    put(out, "failed_roots", w.failed_roots);
    put(out, "one_filesystem", w.one_filesystem);
    return out;
}

json typed(const ProductCoverage& p) {
    json out = json::object();
    put(out, "product", p.product);
    put(out, "manifest_version", p.manifest_version);
    put(out, "sufficient", p.sufficient);
    put(out, "gaps", p.gaps);
    put(out, "ecosystems_not_examined", p.ecosystems_not_examined);
    return out;
}

json typed(const AccessSummary& a) {
    json out = json::object();
    put(out, "permission_denied", a.permission_denied);
    put(out, "processes", a.processes);
    return out;
}

json typed(const CoverageSummary& c) {
    json out = json::object();
    put(out, "sources", c.sources);
    put(out, "source_items", c.source_items);
    if (c.system) out["system"] = c.system->to_json();
    if (c.walk) out["walk"] = c.walk->to_json();
    if (c.access) out["access"] = c.access->to_json();
    if (c.products) {
        json list = json::array();
        for (const auto& p : *c.products) list.push_back(p.to_json());
        out["products"] = std::move(list);
    }
    put(out, "not_examined", c.not_examined);
    put(out, "files", c.files);
    return out;
}

json typed(const FindingsSummary& f) {
    json out = json::object();
    put(out, "count", f.count);
    out["present"] = f.present;
    out["residue"] = f.residue;
    out["leads"] = f.leads;
    return out;
}

json typed(const HostRecord& h) {
    json out = {{"hostname", h.hostname}, {"ids", h.ids}};
    put(out, "os", h.os);
    put(out, "live", h.live);
    return out;
}

json typed(const KitRecord& k) {
    json out = {{"id", k.id},
                {"sequence", k.sequence},
                {"previous_bundle_sha256", nullable(k.previous_bundle_sha256)}};
    if (k.has_previous_statement)
        out["previous_statement_sha256"] = nullable(k.previous_statement_sha256);
    put(out, "kit_manifest_sha256", k.kit_manifest_sha256);
    put(out, "self_check", k.self_check);
    return out;
}

json typed(const ScanRecord& s) {
    json out = {{"started", s.started}, {"finished", s.finished}};
    put(out, "clock", s.clock);
    put(out, "root", s.root);
    put(out, "mode", s.mode);
    put(out, "scope", s.scope);
    put(out, "user", s.user);
    return out;
}

json to_json(const ManifestRecord& m) {
    json out = json::object();
    put(out, "id", m.id);
    put(out, "name", m.name);
    put(out, "version", m.version);
    put(out, "file", m.file);
    put(out, "sha256", m.sha256);
    put(out, "sha384", m.sha384);
    put(out, "rules", m.rules);
    put(out, "signature", m.signature);
    return with_extra(std::move(out), m.extra);
}

ManifestRecord manifest_from_json(const json& j) {
    ManifestRecord m;
    m.id = opt_string(j, "id");
    m.name = opt_string(j, "name");
    m.version = opt_string(j, "version");
    m.file = opt_string(j, "file");
    m.sha256 = opt_string(j, "sha256");
    m.sha384 = opt_string(j, "sha384");
    m.rules = opt_strings(j, "rules");
    m.signature = opt_any(j, "signature");
    m.extra = extra_of(j, to_json(m));
    return m;
}

json typed(const Predicate& p) {
    json out = {{"bundle_id", p.bundle_id},
                {"kit", with_extra(typed(p.kit), p.kit.extra)},
                {"host", p.host.to_json()},
                {"scan", with_extra(typed(p.scan), p.scan.extra)},
                {"findings", p.findings.to_json()}};
    put(out, "tool", p.tool);
    put(out, "collector_keyid", p.collector_keyid);
    put(out, "collector", p.collector);
    put(out, "trust_root", p.trust_root);
    if (p.manifests) {
        json list = json::array();
        for (const auto& m : *p.manifests) list.push_back(to_json(m));
        out["manifests"] = std::move(list);
    }
    put(out, "sandbox", p.sandbox);
    if (p.coverage) out["coverage"] = p.coverage->to_json();
    return out;
}

}  // namespace

// --- coverage ----------------------------------------------------------------------------------

json SystemCoverage::to_json() const {
    return with_extra(typed(*this), extra);
}

SystemCoverage SystemCoverage::from_json(const json& j) {
    SystemCoverage s;
    s.os = opt_string(j, "os");
    s.os_evidence = opt_string(j, "os_evidence");
    s.package_databases = opt_strings(j, "package_databases");
    s.identifiers = opt_strings(j, "identifiers");
    s.gaps = opt_strings(j, "gaps");
    s.extra = extra_of(j, typed(s));
    return s;
}

json WalkCoverage::to_json() const {
    return with_extra(typed(*this), extra);
}

WalkCoverage WalkCoverage::from_json(const json& j) {
    WalkCoverage w;
    w.scope = opt_string(j, "scope");
    w.digests = opt_strings(j, "digests");
    w.roots = opt_strings(j, "roots");
    w.failed_roots = opt_strings(j, "failed_roots");
    w.one_filesystem = opt_bool(j, "one_filesystem");
    w.extra = extra_of(j, typed(w));
    return w;
}

json ProductCoverage::to_json() const {
    return with_extra(typed(*this), extra);
}

ProductCoverage ProductCoverage::from_json(const json& j) {
    ProductCoverage p;
    p.product = opt_string(j, "product");
    p.manifest_version = opt_any(j, "manifest_version");
    p.sufficient = opt_bool(j, "sufficient");
    p.gaps = opt_strings(j, "gaps");
    p.ecosystems_not_examined = opt_strings(j, "ecosystems_not_examined");
    p.extra = extra_of(j, typed(p));
    return p;
}

void ProductCoverage::add_gaps(const std::vector<std::string>& more) {
    std::set<std::string> all(more.begin(), more.end());
    if (gaps) all.insert(gaps->begin(), gaps->end());
    gaps = std::vector<std::string>(all.begin(), all.end());
    sufficient = false;
}

json not_examined_json() {
    static const std::vector<NotExamined> list = {
        {"containers and container images",
         "image layers and container file systems (Docker, Podman, containerd) are not "
         "opened; a product inside an image or a stopped container is not seen"},
        {"browser extensions",
         "no source reads browser profiles; vendor extensions installed per user are "
         "not seen"},
        {"mobile devices",
         "only the scanned root is examined; phones and tablets managed elsewhere are "
         "not"},
        {"network appliances",
         "appliances and their firmware (e.g. a vendor's web-traffic appliance image) are "
         "not hosts this tool scans"},
        {"files outside the walk roots",
         "only the directories the manifests' path, service and module rules need are "
         "walked (coverage.walk.roots), unless the hash scope is 'all'; PE files are read "
         "under Program Files, ProgramData and the drivers folder only"}};
    json out = json::array();
    for (const auto& n : list) out.push_back({{"what", n.what}, {"why", n.why}});
    return out;
}

json AccessSummary::to_json() const {
    return with_extra(typed(*this), extra);
}

AccessSummary AccessSummary::from_json(const json& j) {
    AccessSummary a;
    a.permission_denied = opt_unsigned(j, "permission_denied");
    a.processes = opt_any(j, "processes");
    a.extra = extra_of(j, typed(a));
    return a;
}

json CoverageSummary::to_json() const {
    return with_extra(typed(*this), extra);
}

CoverageSummary CoverageSummary::from_json(const json& j) {
    CoverageSummary c;
    if (auto s = opt_object(j, "sources")) {
        c.sources.emplace();
        for (const auto& [name, status] : s->items())
            if (status.is_string()) (*c.sources)[name] = status.get<std::string>();
    }
    if (auto s = opt_object(j, "source_items")) {
        c.source_items.emplace();
        for (const auto& [name, count] : s->items())
            if (count.is_number_integer()) (*c.source_items)[name] = count.get<std::int64_t>();
    }
    if (auto s = opt_object(j, "system")) c.system = SystemCoverage::from_json(*s);
    if (auto w = opt_object(j, "walk")) c.walk = WalkCoverage::from_json(*w);
    if (auto a = opt_object(j, "access")) c.access = AccessSummary::from_json(*a);
    if (const json* ps = member(j, "products"); ps && ps->is_array()) {
        c.products.emplace();
        for (const auto& p : *ps)
            if (p.is_object()) c.products->push_back(ProductCoverage::from_json(p));
    }
    c.not_examined = opt_any(j, "not_examined");
    c.files = opt_unsigned(j, "files");
    c.extra = extra_of(j, typed(c));
    return c;
}

std::string CoverageSummary::source_status(const std::string& name) const {
    if (!sources) return "";
    auto it = sources->find(name);
    return it == sources->end() ? "" : it->second;
}

std::optional<std::int64_t> CoverageSummary::source_item_count(const std::string& name) const {
    if (!source_items) return std::nullopt;
    auto it = source_items->find(name);
    if (it == source_items->end()) return std::nullopt;
    return it->second;
}

const ProductCoverage* CoverageSummary::product(const std::string& id) const {
    if (!products) return nullptr;
    for (const auto& p : *products)
        if (p.product.value_or("") == id) return &p;
    return nullptr;
}

// --- findings, host ----------------------------------------------------------------------------

json FindingsSummary::to_json() const {
    return with_extra(typed(*this), extra);
}

FindingsSummary FindingsSummary::from_json(const json& j) {
    FindingsSummary f;
    f.present = strict_strings(j, "findings.", "present");
    f.residue = strict_strings(j, "findings.", "residue");
    f.leads = strict_strings(j, "findings.", "leads");
    f.count = opt_unsigned(j, "count");
    f.extra = extra_of(j, typed(f));
    return f;
}

bool FindingsSummary::finds(const std::string& product) const {
    return std::find(present.begin(), present.end(), product) != present.end();
}

HostRecord HostRecord::of(const host::HostIdentity& h) {
    HostRecord r;
    r.hostname = h.hostname;
    const json ids = h.stable_ids();
    for (const auto& [k, v] : ids.items()) r.ids[k] = v.get<std::string>();
    r.os = h.os_pretty_name;
    r.live = h.live;
    return r;
}

json HostRecord::to_json() const {
    return with_extra(typed(*this), extra);
}

HostRecord HostRecord::from_json(const json& j) {
    HostRecord h;
    h.hostname = strict_string(j, "host.", "hostname");
    const json& ids = strict_object(j, "host.", "ids");
    for (const auto& [k, v] : ids.items()) {
        if (!v.is_string()) bad("host.ids." + k, "a string");
        h.ids[k] = v.get<std::string>();
    }
    h.os = opt_string(j, "os");
    h.live = opt_bool(j, "live");
    h.extra = extra_of(j, typed(h));
    return h;
}

std::string HostRecord::id(const std::string& key) const {
    auto it = ids.find(key);
    return it == ids.end() ? "" : it->second;
}

// --- the predicate -----------------------------------------------------------------------------

std::string KitRecord::self_check_status() const {
    if (!self_check) return "";
    return opt_string(*self_check, "status").value_or("");
}

std::string KitRecord::kit_manifest_sha256_or_empty() const {
    if (!kit_manifest_sha256 || !kit_manifest_sha256->is_string()) return "";
    return kit_manifest_sha256->get<std::string>();
}

std::string ManifestRecord::signature_status() const {
    if (!signature) return "";
    return opt_string(*signature, "status").value_or("");
}

json Predicate::to_json() const {
    return with_extra(typed(*this), extra);
}

Predicate Predicate::from_json(const json& p, int format) {
    Predicate out;
    out.bundle_id = strict_string(p, "", "bundle_id");

    const json& kit = strict_object(p, "", "kit");
    out.kit.id = strict_string(kit, "kit.", "id");
    const json* seq = member(kit, "sequence");
    if (!seq || !is_unsigned(*seq)) bad("kit.sequence", "an unsigned integer");
    out.kit.sequence = seq->get<std::uint64_t>();
    out.kit.previous_bundle_sha256 = strict_nullable_string(kit, "kit.", "previous_bundle_sha256");
    if (format >= 2) {
        // v2 chains link by the previous bundle's statement digest.
        auto prev = strict_nullable_string(kit, "kit.", "previous_statement_sha256");
        if (prev && (prev->size() != 64 ||
                     prev->find_first_not_of("0123456789abcdef") != std::string::npos))
            bad("kit.previous_statement_sha256", "a sha256 in lower-case hex or null");
    }
    if (const json* prev = member(kit, "previous_statement_sha256")) {
        out.kit.has_previous_statement = true;
        if (prev->is_string()) out.kit.previous_statement_sha256 = prev->get<std::string>();
    }
    out.kit.kit_manifest_sha256 = opt_any(kit, "kit_manifest_sha256");
    out.kit.self_check = opt_any(kit, "self_check");
    out.kit.extra = extra_of(kit, typed(out.kit));

    out.host = HostRecord::from_json(strict_object(p, "", "host"));

    const json& scan = strict_object(p, "", "scan");
    out.scan.started = strict_string(scan, "scan.", "started");
    out.scan.finished = strict_string(scan, "scan.", "finished");
    out.scan.clock = opt_string(scan, "clock");
    out.scan.root = opt_string(scan, "root");
    out.scan.mode = opt_string(scan, "mode");
    out.scan.scope = opt_string(scan, "scope");
    out.scan.user = opt_any(scan, "user");
    out.scan.extra = extra_of(scan, typed(out.scan));

    out.findings = FindingsSummary::from_json(strict_object(p, "", "findings"));

    if (const json* c = member(p, "coverage")) {
        if (!c->is_object()) bad("coverage", "an object");
        out.coverage = CoverageSummary::from_json(*c);
    }

    out.tool = opt_any(p, "tool");
    out.collector_keyid = opt_any(p, "collector_keyid");
    out.collector = opt_any(p, "collector");
    out.trust_root = opt_any(p, "trust_root");
    if (const json* ms = member(p, "manifests"); ms && ms->is_array()) {
        out.manifests.emplace();
        for (const auto& m : *ms)
            if (m.is_object()) out.manifests->push_back(manifest_from_json(m));
    }
    out.sandbox = opt_any(p, "sandbox");
    out.extra = extra_of(p, typed(out));
    return out;
}

const ManifestRecord* Predicate::manifest(const std::string& id) const {
    if (!manifests) return nullptr;
    for (const auto& m : *manifests)
        if (m.id.value_or("") == id) return &m;
    return nullptr;
}

std::vector<std::string> Predicate::unverified_manifests() const {
    std::vector<std::string> out;
    if (manifests)
        for (const auto& m : *manifests)
            if (m.signature_status() != "verified") out.push_back(m.id.value_or(""));
    return out;
}

std::string Predicate::walk_scope() const {
    std::string s;
    if (coverage && coverage->walk) s = coverage->walk->scope.value_or("");
    if (s.empty()) s = scan.scope.value_or("");
    return s;
}

}  // namespace audit::evidence
