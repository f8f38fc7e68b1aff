// The link between a portal patient and each hospital's patient number (issue 17, lab
// reports): which hospitals know the patient, and by which number. A link is written when
// a hospital's answer carries the patient's number at that hospital: a confirmed booking
// (controlplane/answer_intake.h: the "patientId" of an appointment.book answer that says
// "booked"). The reports list then asks only the linked hospitals, each by its own number
// (docs/portal-api.md, "Lab reports"), instead of every hospital of the fleet.
//
// The HIS patient number is PHI-adjacent: it is stored and sent to its own hospital, and
// never logged (callers log the hospital and the portal patient only).
//
// Rules every implementation keeps:
//  - One link per (patient, hospital). A hospital answering with another number for the
//    same patient replaces the link (the hospital's latest word).
//  - One patient per (hospital, number): a number already linked to another patient at
//    that hospital is refused (Rejected "link.taken") and nothing is written, so a
//    mismatched identity never shows one patient another's reports.
//  - link() writes all of its links or none (one transaction); every link is checked
//    before anything is written.
//
// This is the interface; SQLite implements it (open_sqlite_patient_links), and a shared
// database (PostgreSQL) would implement the same for several control-plane instances.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"

namespace hisgate::sql {
class SharedDb;
}

namespace hisgate::controlplane {

struct PatientLink {
    std::string patient_id;      // the platform's (portal) patient id: 1 to 64 of A-Z a-z 0-9 _ -
    std::string hospital_id;     // 1 to 64 of A-Z a-z 0-9 _ -
    std::string his_patient_id;  // the hospital's number: 1 to 64 printable ASCII, no spaces
    int64_t linked_ms = 0;       // when it was last written (set by the store)
};

// Whether a link may be stored. Errors: BadInput "link.bad_patient", "link.bad_hospital",
// "link.bad_his_patient" (the message names the field, never the number itself).
Result<void> check_patient_link(const PatientLink& link);

class PatientLinks {
public:
    virtual ~PatientLinks() = default;
    // Writes every link, or none: a bad one (check_patient_link), a number taken by another
    // patient at that hospital (Rejected "link.taken"), two links of the same
    // (patient, hospital) with different numbers in one call (BadInput "link.conflict") or a
    // store failure leaves the store as it was. Rewriting a link as it is changes nothing
    // but its time.
    virtual Result<void> link(const std::vector<PatientLink>& links) = 0;
    // The patient's links, by hospital id; none for a patient never linked.
    virtual Result<std::vector<PatientLink>> links_of(const std::string& patient_id) = 0;
    // The patient's number at one hospital, nullopt when not linked there.
    virtual Result<std::optional<std::string>> his_patient_id(const std::string& patient_id,
                                                              const std::string& hospital_id) = 0;
    // The patient a hospital's number is linked to, nullopt when none: whether a platform id
    // asked for at a hospital not linked to its patient is another patient's number there.
    virtual Result<std::optional<std::string>> patient_of(const std::string& hospital_id,
                                                          const std::string& his_patient_id) = 0;
};

// ask(link) for each link, at most kLinkedAsksAtOnce at a time (each on a thread of its
// own: a hospital slow to answer does not hold up the others), results in the links' order.
inline constexpr size_t kLinkedAsksAtOnce = 8;
template <class T>
std::vector<T> ask_each_link(const std::vector<PatientLink>& links, const std::function<T(const PatientLink&)>& ask) {
    std::vector<T> out;
    out.reserve(links.size());
    for (size_t from = 0; from < links.size(); from += kLinkedAsksAtOnce) {
        std::vector<std::future<T>> running;
        for (size_t i = from; i < links.size() && i < from + kLinkedAsksAtOnce; ++i)
            running.push_back(std::async(std::launch::async, ask, std::cref(links[i])));
        for (auto& r : running) out.push_back(r.get());
    }
    return out;
}

// `path` is a SQLite file (the control plane's results_db), or ":memory:".
Result<std::unique_ptr<PatientLinks>> open_sqlite_patient_links(const std::string& path, Clock& clock);
// On a connection other stores share (common/sql_shared.h): what it writes can be one
// transaction with theirs (controlplane/answer_commit.h).
Result<std::unique_ptr<PatientLinks>> open_sqlite_patient_links(std::shared_ptr<sql::SharedDb> shared, Clock& clock);

}  // namespace hisgate::controlplane
