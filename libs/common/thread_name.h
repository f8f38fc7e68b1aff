// Names the calling thread, so top -H, perf and gdb show what each agent thread is for.
#pragma once

#include <pthread.h>

#include <string>

namespace hisgate {

// Linux keeps at most 15 characters; longer names are cut.
inline void name_this_thread(const std::string& name) { pthread_setname_np(pthread_self(), name.substr(0, 15).c_str()); }

}  // namespace hisgate
