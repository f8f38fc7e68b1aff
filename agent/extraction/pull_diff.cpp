#include "agent/extraction/pull_diff.h"

#include <algorithm>
#include <set>

namespace hisgate::extraction {

namespace {
int rank(const std::string& entity) {
    if (entity == kHospital) return 0;
    if (entity == kDepartment) return 1;
    if (entity == kDoctor) return 2;
    return 3;
}
}  // namespace

std::vector<Change> pull_diff(const std::map<RecordKey, Record>& in_scope, const std::vector<Record>& extracted) {
    std::vector<Change> upserts, deletes;
    std::set<RecordKey> listed;
    for (const auto& r : extracted) {
        RecordKey k{r.entity, r.key};
        listed.insert(k);
        auto it = in_scope.find(k);
        if (it == in_scope.end() || it->second.data != r.data || it->second.date != r.date)
            upserts.push_back({Op::Upsert, r});
    }
    for (const auto& [k, r] : in_scope)
        if (!listed.count(k)) deletes.push_back({Op::Delete, {r.entity, r.key, r.date, nullptr}});
    std::stable_sort(upserts.begin(), upserts.end(),
                     [](const Change& a, const Change& b) { return rank(a.record.entity) < rank(b.record.entity); });
    std::stable_sort(deletes.begin(), deletes.end(),
                     [](const Change& a, const Change& b) { return rank(a.record.entity) > rank(b.record.entity); });
    upserts.insert(upserts.end(), deletes.begin(), deletes.end());
    return upserts;
}

}  // namespace hisgate::extraction
