// One partition's ledger file at the row level, shared by the store (ledger_store_sqlite.cpp)
// and the partition split (partition_split.cpp), which copies rows between files and must
// read and write them exactly as the store does: the schema (with its migrations and
// append-only triggers), the column list and the row codec live here once.
//
// Nothing here checks the transition table: only the store changes a transaction's state.
// The split copies rows that the store already checked, and the file's triggers still
// refuse rewriting an entry or changing a terminal transaction, whoever writes.
#pragma once

#include <string>

#include "common/sqlite.h"
#include "controlplane/ledger/ledger_store.h"

namespace hisgate::ledger {

// Opens (creating it if new) a ledger file: schema, migrations, WAL, the synchronous mode
// (`durable`: FULL, else OFF), and the partition it holds, claimed on first open and
// checked after (ledger.wrong_partition).
Result<sql::Db> open_ledger_file(const std::string& path, const std::string& partition, bool durable);

// "id, kind, ..., province, binds": every stored column of `transactions`, in read_ledger_row's order.
const char* ledger_columns();
// A row selected as ledger_columns() followed by the rowid.
Transaction read_ledger_row(const sql::Statement& s);
// Binds every column of `t` as ?1..?23 in ledger_columns() order.
void bind_ledger_row(sql::Statement& s, const Transaction& t);

}  // namespace hisgate::ledger
